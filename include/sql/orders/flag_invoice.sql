-- Flag an invoice for a person, with a reason (kept once).
UPDATE invoices
SET needs_attention = true,
    attention_reasons = CASE WHEN CAST(:reason AS text) = ANY(attention_reasons) THEN attention_reasons
                             ELSE array_append(attention_reasons, CAST(:reason AS text)) END,
    updated_at = clock_timestamp()
WHERE id = :invoice_id
