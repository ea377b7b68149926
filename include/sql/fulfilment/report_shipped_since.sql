-- Waybills whose goods left since a moment (what a run shipped).
SELECT i.external_number, s.carrier, s.waybill_number, s.cod_amount
FROM shipments s
JOIN invoices i ON i.id = s.invoice_id
JOIN delivery_notes n ON n.id = s.delivery_note_id
WHERE s.shop_id = :shop_id AND s.state = 'created' AND n.shipped_at >= CAST(:since AS timestamptz)
ORDER BY s.id
