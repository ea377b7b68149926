UPDATE delivery_notes
SET status = 'delivered', delivered_at = clock_timestamp(), cod_received = :cod_received
WHERE invoice_id = :invoice_id AND status = 'shipped'
RETURNING id, cod_amount
