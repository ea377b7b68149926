-- Nothing usable was created (or a document exists that must not ship): a person looks, `shopsync ship` again.
UPDATE shipments
SET state = 'failed', last_error = :reason, waybill_number = coalesce(CAST(:number AS text), waybill_number),
    carrier_ref = coalesce(CAST(:ref AS text), carrier_ref), updated_at = clock_timestamp()
WHERE id = :shipment_id AND state IN ('requested', 'creating')
RETURNING id
