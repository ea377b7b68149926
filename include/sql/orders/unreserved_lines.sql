-- Lines of an invoice and what they still miss to be fully reserved.
SELECT line_no, good_id, name, quantity, quantity - reserved_qty AS missing
FROM invoice_lines
WHERE invoice_id = :invoice_id
ORDER BY line_no
