UPDATE invoices
SET customer_id = :customer_id,
    status = :status,
    bonus_paid = :bonus_paid,
    needs_attention = :needs_attention,
    attention_reasons = CAST(:attention_reasons AS text[])
WHERE id = :invoice_id
