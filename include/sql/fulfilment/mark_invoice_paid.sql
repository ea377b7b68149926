-- Prepayments cover the invoice: paid (a cash-on-delivery invoice too: nothing is left to collect).
UPDATE invoices SET payment_status = 'paid', updated_at = clock_timestamp()
WHERE id = :invoice_id AND payment_status <> 'paid'
