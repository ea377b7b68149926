-- An open branch by the carrier's own id (a marketplace's warehouse id), with its city's name.
SELECT b.ref, b.city_ref, b.number, b.kind, b.postcode, c.name AS city_name
FROM carrier_branches b
LEFT JOIN carrier_cities c ON c.carrier = b.carrier AND c.ref = b.city_ref
WHERE b.carrier = :carrier AND b.ref = :ref AND b.is_active
