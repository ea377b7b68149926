UPDATE invoice_lines
SET reserved_qty = reserved_qty + :quantity
WHERE invoice_id = :invoice_id AND line_no = :line_no
