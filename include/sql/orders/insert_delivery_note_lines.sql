-- What left the warehouse on a delivery note, per line and warehouse, at the line's price and the good's cost
-- price of this moment. An invoice ships once, so its 'shipped' reservations are exactly this note's goods.
INSERT INTO delivery_note_lines (delivery_note_id, line_no, good_id, warehouse_id, quantity, price, cost_price)
SELECT CAST(:delivery_note_id AS bigint), r.line_no, r.good_id, r.warehouse_id, sum(r.quantity),
       coalesce(l.ordered_price, l.db_price), g.prime_cost
FROM reservations AS r
JOIN invoice_lines AS l ON l.invoice_id = r.invoice_id AND l.line_no = r.line_no
JOIN goods AS g ON g.id = r.good_id
WHERE r.invoice_id = :invoice_id AND r.status = 'shipped'
GROUP BY r.line_no, r.good_id, r.warehouse_id, l.ordered_price, l.db_price, g.prime_cost
