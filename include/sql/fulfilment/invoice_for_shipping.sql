-- What a waybill is made of: the invoice's delivery, the buyer (the order's phone, else the customer's first), and
-- what was prepaid. Delivery texts fall back to the customer's when the invoice has none.
SELECT i.id, i.external_number, i.status, i.payment_status, i.total, i.currency,
       coalesce(i.delivery_city, c.city) AS city,
       coalesce(i.delivery_branch, c.np_branch) AS branch,
       i.delivery_branch_ref AS branch_ref,
       i.delivery_address, c.address AS customer_address, c.zip,
       c.full_name, c.email,
       coalesce(i.content #>> '{customer,phones,0}', p.phone_e164) AS phone,
       coalesce(pay.prepaid, 0) AS prepaid
FROM invoices AS i
LEFT JOIN customers AS c ON c.id = i.customer_id
LEFT JOIN LATERAL (
    SELECT phone_e164 FROM customer_phones WHERE customer_id = i.customer_id ORDER BY created_at, phone_e164 LIMIT 1
) AS p ON true
LEFT JOIN LATERAL (
    SELECT sum(amount) AS prepaid FROM payments WHERE invoice_id = i.id AND kind = 'prepayment'
) AS pay ON true
WHERE i.id = :invoice_id
