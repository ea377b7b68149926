-- Take one shipment for this run: a row another session holds is skipped, not waited for.
SELECT s.id, s.state, s.carrier, s.client_key, s.ship_date, s.weight_kg, s.seats, s.cod_amount, s.request,
       s.invoice_id, i.external_number, i.status AS invoice_status
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.id = :shipment_id AND s.state IN ('requested', 'creating')
FOR UPDATE OF s SKIP LOCKED
