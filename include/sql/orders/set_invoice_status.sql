UPDATE invoices SET status = :status WHERE id = :invoice_id
