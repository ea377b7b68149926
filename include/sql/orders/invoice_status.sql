SELECT status FROM invoices WHERE id = :invoice_id
