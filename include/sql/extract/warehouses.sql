-- Active warehouses (a shop without a warehouse list sells from all of them).
SELECT id FROM warehouses WHERE is_active ORDER BY id
