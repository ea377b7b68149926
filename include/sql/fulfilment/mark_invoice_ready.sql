UPDATE invoices SET status = 'ready', updated_at = clock_timestamp() WHERE id = :invoice_id AND status = 'reserved'
