-- The goods are back in the warehouse.
UPDATE delivery_notes SET status = 'returned', returned_at = clock_timestamp()
WHERE invoice_id = :invoice_id AND status IN ('shipped', 'refused')
RETURNING id
