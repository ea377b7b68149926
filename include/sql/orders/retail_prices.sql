SELECT good_id, price
FROM prices
WHERE good_id = ANY(CAST(:good_ids AS integer[]))
  AND price_type_id = 1
  AND currency = :currency
