-- Cash on delivery of delivered parcels that the carrier has not paid out yet.
SELECT coalesce(sum(s.cod_amount), 0)
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.shop_id = :shop_id AND s.state = 'created' AND s.delivery_state = 'delivered'
  AND s.cod_amount > 0 AND s.cod_paid_at IS NULL AND i.payment_status = 'cod'
