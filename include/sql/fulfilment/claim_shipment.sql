-- Take one shipment and its invoice for this run: rows another session holds are skipped, not waited for (the
-- invoice is locked too, so every transaction here takes the invoice before the shipment: no deadlock with
-- `shopsync ship`, which locks them in that order).
SELECT s.id, s.state, s.carrier, s.client_key, s.ship_date, s.weight_kg, s.seats, s.cod_amount, s.request,
       s.invoice_id, i.external_number, i.status AS invoice_status
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.id = :shipment_id AND s.state IN ('requested', 'creating')
FOR NO KEY UPDATE OF s, i SKIP LOCKED
