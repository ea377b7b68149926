-- Delivered; cash on delivery that arrived makes the invoice paid, missing cash on delivery needs attention.
UPDATE invoices
SET status = 'delivered',
    payment_status = CASE WHEN payment_status = 'cod' AND :cod_received THEN 'paid' ELSE payment_status END,
    needs_attention = needs_attention OR :cod_missing,
    attention_reasons = CASE WHEN :cod_missing
                             THEN array_append(attention_reasons, 'cash on delivery not received')
                             ELSE attention_reasons END
WHERE id = :invoice_id
