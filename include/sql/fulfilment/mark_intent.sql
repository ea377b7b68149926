-- The intent, committed before the carrier is called: from here on a run asks the carrier first.
UPDATE shipments
SET state = 'creating', ship_date = :ship_date, cod_amount = :cod_amount, cod_form = :cod_form,
    declared_value = :declared_value, request = CAST(:request AS jsonb), intent_at = clock_timestamp(),
    attempts = attempts + 1, last_error = NULL, updated_at = clock_timestamp()
WHERE id = :shipment_id AND state = 'requested'
RETURNING id
