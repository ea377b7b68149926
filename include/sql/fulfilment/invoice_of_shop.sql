-- An invoice of this shop by its order number (as the shop knows it) or by our id.
SELECT id, external_number, status
FROM invoices
WHERE shop_id = :shop_id
  AND (external_number = CAST(:number AS text) OR id = CAST(:invoice_id AS bigint))
