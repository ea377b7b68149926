-- The invoice a person says came back, locked like every workflow step locks it.
SELECT id, shop_id, external_number, status
FROM invoices
WHERE id = :invoice_id
FOR NO KEY UPDATE
