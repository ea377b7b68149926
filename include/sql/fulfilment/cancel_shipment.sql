UPDATE shipments SET state = 'cancelled', last_error = :reason, updated_at = clock_timestamp()
WHERE id = :shipment_id AND state IN ('requested', 'creating', 'failed')
RETURNING id
