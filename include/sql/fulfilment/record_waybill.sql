-- The carrier's document, recorded in the same transaction that ships the invoice.
UPDATE shipments
SET state = 'created', waybill_number = :number, carrier_ref = :ref, delivery_cost = :cost,
    estimated_delivery = :estimated_delivery, cod_form = coalesce(CAST(:cod_form AS text), cod_form),
    delivery_note_id = :delivery_note_id, delivery_state = 'created', status_changed_at = clock_timestamp(),
    last_error = NULL, updated_at = clock_timestamp()
WHERE id = :shipment_id AND state = 'creating'
RETURNING id
