INSERT INTO delivery_notes (invoice_id, carrier, waybill_number, cod_amount)
VALUES (:invoice_id, :carrier, :waybill_number, :cod_amount)
RETURNING id
