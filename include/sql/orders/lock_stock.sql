-- Lock the stock rows of these goods at these warehouses, always in (good_id, warehouse_id) order:
-- every transaction that reserves or ships takes its locks in the same order, so none can deadlock another.
SELECT good_id, warehouse_id
FROM stock
WHERE good_id = ANY(CAST(:good_ids AS integer[]))
  AND warehouse_id = ANY(CAST(:warehouse_ids AS integer[]))
ORDER BY good_id, warehouse_id
FOR UPDATE
