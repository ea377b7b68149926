-- The COD money arrived after all: the "not received" flag the tracking pass may have set goes away.
UPDATE invoices
SET attention_reasons = array_remove(attention_reasons, CAST(:reason AS text)),
    needs_attention = cardinality(array_remove(attention_reasons, CAST(:reason AS text))) > 0
WHERE id = :invoice_id AND CAST(:reason AS text) = ANY(attention_reasons)
