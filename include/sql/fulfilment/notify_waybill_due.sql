-- A shop's shipped invoices whose waybill mail is due: the pipeline's shipment has its waybill, and there is
-- no message yet, or one that failed for now with attempts left. Delivery notes without a shipments row
-- (shipped before the fulfilment pipeline) get no mail.
SELECT i.id AS invoice_id, i.external_number, i.total, i.currency, i.comment, i.delivery_city,
       i.delivery_branch, c.full_name, c.email, s.carrier, s.waybill_number, s.cod_amount, s.estimated_delivery,
       coalesce(m.attempts, 0) AS attempts
FROM invoices AS i
JOIN shipments AS s ON s.invoice_id = i.id AND s.state = 'created' AND s.waybill_number IS NOT NULL
LEFT JOIN customers AS c ON c.id = i.customer_id
LEFT JOIN buyer_messages AS m ON m.invoice_id = i.id AND m.kind = 'waybill'
WHERE i.shop_id = :shop_id
  AND i.status = 'shipped'
  AND (m.invoice_id IS NULL OR (m.state = 'failed' AND m.attempts < :max_attempts))
ORDER BY i.id
