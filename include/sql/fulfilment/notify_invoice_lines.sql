-- An invoice's lines as the buyer ordered them (name, quantity, price, line amount) for the buyer's mail.
SELECT l.line_no, coalesce(nullif(l.name, ''), g.name, l.external_ref, '') AS name, l.quantity,
       l.ordered_price AS price, round(l.quantity * l.ordered_price, 2) AS amount
FROM invoice_lines AS l
LEFT JOIN goods AS g ON g.id = l.good_id
WHERE l.invoice_id = :invoice_id
ORDER BY l.line_no
