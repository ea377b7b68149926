-- Open shipments on their way (not yet delivered) whose carrier status has not changed for :stuck_days days.
SELECT i.external_number, s.waybill_number,
       floor(extract(epoch FROM (CAST(:now AS timestamptz) - coalesce(s.status_changed_at, s.intent_at, s.created_at)))
             / 86400)::integer AS days
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.shop_id = :shop_id
  AND s.state = 'created'
  AND s.waybill_number IS NOT NULL
  AND (s.delivery_state IS NULL OR s.delivery_state NOT IN ('delivered', 'cod_paid', 'returned', 'deleted'))
  AND coalesce(s.status_changed_at, s.intent_at, s.created_at)
      <= CAST(:now AS timestamptz) - make_interval(days => :stuck_days)
ORDER BY days DESC, s.id
