-- What one tracking pass learnt about a shipment; updated_at moves only when something changed.
UPDATE shipments
SET delivery_state = :delivery_state,
    carrier_status = :carrier_status,
    carrier_status_text = :carrier_status_text,
    status_changed_at = :status_changed_at,
    return_waybill = :return_waybill,
    tracked_at = :tracked_at,
    updated_at = CASE WHEN :changed THEN clock_timestamp() ELSE updated_at END
WHERE id = :shipment_id
