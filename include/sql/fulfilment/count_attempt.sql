-- Another create call for a shipment the carrier had no document of (after a cut-off run), with the request it sends.
UPDATE shipments
SET attempts = attempts + 1, ship_date = :ship_date, request = CAST(:request AS jsonb), updated_at = clock_timestamp()
WHERE id = :shipment_id AND state = 'creating'
