-- Invoices ready to ship with no waybill yet, and why they wait (failed shipments carry the reason).
SELECT i.external_number, coalesce(s.state, 'requested') AS state, s.last_error, i.payment_status
FROM invoices i
LEFT JOIN shipments s ON s.invoice_id = i.id AND s.state <> 'cancelled'
WHERE i.shop_id = :shop_id AND i.status = 'ready'
ORDER BY i.id
