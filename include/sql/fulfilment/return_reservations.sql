-- What left the warehouse per the invoice's shipped reservations (notes written before delivery_note_lines).
SELECT good_id, warehouse_id, sum(quantity) AS quantity
FROM reservations
WHERE invoice_id = :invoice_id AND status = 'shipped'
GROUP BY good_id, warehouse_id
ORDER BY good_id, warehouse_id
