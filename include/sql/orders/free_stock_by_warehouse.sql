-- Free stock of one good per warehouse, in the fixed reservation order (warehouse id ascending).
SELECT warehouse_id, free
FROM free_stock
WHERE good_id = :good_id
  AND warehouse_id = ANY(CAST(:warehouse_ids AS integer[]))
ORDER BY warehouse_id
