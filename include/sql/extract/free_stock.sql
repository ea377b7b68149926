-- Free stock (the free_stock view: on hand minus active reservations) at the shop's warehouses.
SELECT f.good_id, f.warehouse_id, f.free
FROM free_stock f
WHERE f.warehouse_id = ANY(:warehouse_ids)
  AND {scope:f.good_id}
ORDER BY f.good_id, f.warehouse_id
