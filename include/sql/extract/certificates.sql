-- Gift certificates as the database holds them ('expired' is derived later from the run's data interval).
SELECT g.id AS certificate_id, g.barcode, g.nominal, g.currency, g.status, g.valid_until
FROM gift_certificates g
WHERE {scope:g.id}
ORDER BY g.id
