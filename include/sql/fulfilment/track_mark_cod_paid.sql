-- The COD money arrived: the invoice is paid (a prepaid one stays as it is).
UPDATE invoices SET payment_status = 'paid' WHERE id = :invoice_id AND payment_status = 'cod'
