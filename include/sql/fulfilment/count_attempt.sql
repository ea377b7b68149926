-- Another create call for a shipment the carrier had no document of (after a cut-off run).
UPDATE shipments SET attempts = attempts + 1, updated_at = clock_timestamp()
WHERE id = :shipment_id AND state = 'creating'
