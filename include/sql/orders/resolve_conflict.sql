-- A person resolved a conflict: it is marked so (with their note), and its line leaves the invoice's
-- attention reasons (the invoice still needs attention when other reasons are left). Returns the invoice id.
WITH resolved AS (
    UPDATE order_conflicts
    SET resolved = true, resolved_at = clock_timestamp(), resolution = :note
    WHERE id = :conflict_id AND shop_id = :shop_id AND NOT resolved
    RETURNING invoice_id, attention_reason
)
UPDATE invoices AS i
SET attention_reasons = array_remove(i.attention_reasons, r.attention_reason),
    needs_attention = cardinality(array_remove(i.attention_reasons, r.attention_reason)) > 0
FROM resolved AS r
WHERE i.id = r.invoice_id
RETURNING i.id
