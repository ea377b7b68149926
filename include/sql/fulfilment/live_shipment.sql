-- An invoice's shipment that is not cancelled (at most one: shipments_one_live_per_invoice), locked.
SELECT id, state, carrier, client_key, ship_date, waybill_number, cod_amount, request, invoice_id, last_error
FROM shipments
WHERE invoice_id = :invoice_id AND state <> 'cancelled'
FOR UPDATE
