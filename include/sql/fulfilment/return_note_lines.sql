-- What left the warehouse on the invoice's delivery notes not yet returned, per good and warehouse.
SELECT l.good_id, l.warehouse_id, sum(l.quantity) AS quantity
FROM delivery_note_lines AS l
JOIN delivery_notes AS n ON n.id = l.delivery_note_id
WHERE n.invoice_id = :invoice_id AND n.status IN ('shipped', 'refused')
GROUP BY l.good_id, l.warehouse_id
ORDER BY l.good_id, l.warehouse_id
