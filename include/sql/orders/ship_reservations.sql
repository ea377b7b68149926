UPDATE reservations
SET status = 'shipped'
WHERE invoice_id = :invoice_id AND status = 'active'
RETURNING good_id, warehouse_id, quantity
