UPDATE gift_certificates
SET status = 'active', used_at = NULL, used_invoice_id = NULL
WHERE used_invoice_id = :invoice_id AND status = 'used'
RETURNING barcode
