-- Open branches with this number (leading zeros aside) in any of the cities given.
SELECT b.ref, b.city_ref, b.number, b.kind, b.postcode
FROM carrier_branches b
WHERE b.carrier = :carrier AND b.is_active AND b.city_ref = ANY(CAST(:city_refs AS text[]))
  AND ltrim(b.number, '0') = :number
ORDER BY b.city_ref, b.ref
