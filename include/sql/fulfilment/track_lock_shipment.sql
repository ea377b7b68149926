-- The shipment as it is now (its invoice row is locked first, like every workflow step does).
SELECT s.id, s.invoice_id, s.carrier, s.waybill_number, s.return_waybill, s.delivery_state, s.carrier_status,
       s.cod_amount, s.cod_paid_at, s.status_changed_at, s.tracked_at, s.delivery_note_id,
       (SELECT min(h.status_at) FROM shipment_status_history AS h
        WHERE h.shipment_id = s.id AND h.state IN ('delivered', 'cod_paid')) AS delivered_at
FROM shipments AS s
WHERE s.id = :shipment_id
FOR NO KEY UPDATE
