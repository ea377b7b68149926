-- One carrier status into the shipment's history, unless it is the status last stored for that waybill (a
-- carrier repeats its current status on every call, sometimes with a newer time; "last" is the last one seen).
-- Returns a row when stored.
INSERT INTO shipment_status_history (shipment_id, waybill, code, status_text, state, status_at, raw)
SELECT :shipment_id, :waybill, :code, :status_text, :state, :status_at, CAST(:raw AS jsonb)
WHERE CAST(:code AS text) IS DISTINCT FROM (
    SELECT h.code FROM shipment_status_history AS h
    WHERE h.shipment_id = :shipment_id AND h.waybill = :waybill
    ORDER BY h.seen_at DESC, h.status_at DESC
    LIMIT 1
)
ON CONFLICT DO NOTHING
RETURNING shipment_id
