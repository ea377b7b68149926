SELECT i.id, i.external_number, i.status, i.payment_status, i.total, i.currency,
       i.needs_attention, i.attention_reasons, i.customer_id, c.full_name AS customer_name,
       i.order_date, i.created_at,
       b.channel, b.external_id, b.external_status, b.last_error AS channel_error,
       (b.refused_hash IS NOT NULL) AS channel_refused,
       coalesce(s.waybill_number, n.waybill_number, i.tracking_number) AS waybill,
       s.carrier, s.state AS shipment_state, s.delivery_state, s.cod_amount, s.cod_paid_amount, s.cod_paid_at
FROM invoices AS i
LEFT JOIN customers AS c ON c.id = i.customer_id
LEFT JOIN channel_bindings AS b ON b.shop_id = i.shop_id AND b.entity = 'order' AND b.internal_id = i.id
LEFT JOIN LATERAL (
    SELECT waybill_number FROM delivery_notes WHERE invoice_id = i.id ORDER BY id DESC LIMIT 1
) AS n ON true
LEFT JOIN LATERAL (
    SELECT * FROM shipments WHERE invoice_id = i.id ORDER BY (state = 'cancelled'), id DESC LIMIT 1
) AS s ON true
WHERE i.shop_id = :shop_id
  AND (CAST(:status AS text) IS NULL OR i.status = CAST(:status AS text))
  AND (NOT CAST(:attention AS boolean) OR i.needs_attention OR b.refused_hash IS NOT NULL)
ORDER BY i.id
