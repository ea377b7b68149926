SELECT coalesce(sum(amount), 0) FROM payments WHERE invoice_id = :invoice_id AND kind = 'prepayment'
