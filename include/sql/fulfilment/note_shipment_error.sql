-- The carrier did not answer usefully: the shipment stays as it is, the next run tries again.
UPDATE shipments SET last_error = :error, updated_at = clock_timestamp() WHERE id = :shipment_id
