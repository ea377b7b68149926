-- A shop's invoices whose payment request is due: reserved or ready, to be paid before shipping ('unpaid':
-- not cash on delivery, not paid), something left to pay after the prepayments, and no message yet or one
-- that failed for now with attempts left.
SELECT i.id AS invoice_id, i.external_number, i.total, i.currency, i.comment, c.full_name, c.email,
       coalesce(p.prepaid, 0) AS prepaid, i.total - coalesce(p.prepaid, 0) AS amount_due,
       coalesce(m.attempts, 0) AS attempts
FROM invoices AS i
LEFT JOIN customers AS c ON c.id = i.customer_id
LEFT JOIN LATERAL (
    SELECT sum(amount) AS prepaid FROM payments WHERE invoice_id = i.id AND kind = 'prepayment'
) AS p ON true
LEFT JOIN buyer_messages AS m ON m.invoice_id = i.id AND m.kind = 'payment_request'
WHERE i.shop_id = :shop_id
  AND i.status IN ('reserved', 'ready')
  AND i.payment_status = 'unpaid'
  AND i.total - coalesce(p.prepaid, 0) > 0
  AND (m.invoice_id IS NULL OR (m.state = 'failed' AND m.attempts < :max_attempts))
ORDER BY i.id
