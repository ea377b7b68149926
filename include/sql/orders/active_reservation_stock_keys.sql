-- The goods and warehouses an invoice holds active reservations at (to lock their stock rows first).
SELECT DISTINCT good_id, warehouse_id
FROM reservations
WHERE invoice_id = :invoice_id AND status = 'active'
