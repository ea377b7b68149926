-- Atomic: only an active, unexpired certificate is taken; a concurrent second use finds no row.
UPDATE gift_certificates
SET status = 'used', used_at = clock_timestamp(), used_invoice_id = :invoice_id
WHERE barcode = :barcode
  AND status = 'active'
  AND (valid_until IS NULL OR valid_until >= :today)
RETURNING id, nominal, currency
