SELECT id, status, payment_status, customer_id, bonus_paid
FROM invoices
WHERE id = :invoice_id
FOR NO KEY UPDATE
