UPDATE reservations
SET status = 'released'
WHERE invoice_id = :invoice_id AND status = 'active'
RETURNING good_id, quantity
