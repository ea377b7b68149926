-- A person confirmed the goods are back (`shopsync return`): the invoice's shipment needs no more tracking.
UPDATE shipments
SET delivery_state = 'returned', updated_at = clock_timestamp()
WHERE invoice_id = :invoice_id AND state = 'created' AND delivery_state IS DISTINCT FROM 'returned'
