SELECT status, valid_until, used_invoice_id FROM gift_certificates WHERE barcode = :barcode
