UPDATE invoices SET status = 'cancelled', cancel_reason = :reason WHERE id = :invoice_id
