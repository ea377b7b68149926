UPDATE invoice_lines
SET reserved_qty = 0
WHERE invoice_id = :invoice_id AND reserved_qty <> 0
