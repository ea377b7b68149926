-- Shipments on the way whose carrier status has not changed for :stuck_days days (or never came since shipping).
SELECT i.external_number, s.waybill_number, s.carrier, s.delivery_state, s.carrier_status_text,
       coalesce(s.status_changed_at, n.shipped_at) AS since,
       floor(extract(epoch FROM (CAST(:now AS timestamptz) - coalesce(s.status_changed_at, n.shipped_at))) / 86400)
           AS days
FROM shipments s
JOIN invoices i ON i.id = s.invoice_id
JOIN delivery_notes n ON n.id = s.delivery_note_id
WHERE s.shop_id = :shop_id AND s.state = 'created'
  AND coalesce(s.delivery_state, 'created') NOT IN ('delivered', 'cod_paid', 'returned', 'deleted')
  AND coalesce(s.status_changed_at, n.shipped_at) < CAST(:now AS timestamptz) - make_interval(days => :stuck_days)
ORDER BY since, i.external_number
