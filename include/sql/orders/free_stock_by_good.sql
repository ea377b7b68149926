-- Free stock per good, summed over the given warehouses (all goods when :good_ids is NULL).
SELECT good_id, sum(free) AS free
FROM free_stock
WHERE (CAST(:good_ids AS integer[]) IS NULL OR good_id = ANY(CAST(:good_ids AS integer[])))
  AND warehouse_id = ANY(CAST(:warehouse_ids AS integer[]))
GROUP BY good_id
