-- A shipment asked for again: the reasons an earlier attempt flagged (they start with "shipment: ") go; the
-- invoice still needs attention only for what else it was flagged for.
UPDATE invoices
SET attention_reasons = r.kept, needs_attention = cardinality(r.kept) > 0, updated_at = clock_timestamp()
FROM (
    SELECT coalesce(array_agg(reason ORDER BY n) FILTER (WHERE reason NOT LIKE 'shipment: %'), '{}') AS kept
    FROM invoices AS i, unnest(i.attention_reasons) WITH ORDINALITY AS u (reason, n)
    WHERE i.id = :invoice_id
) AS r
WHERE id = :invoice_id AND EXISTS (SELECT 1 FROM unnest(attention_reasons) AS a WHERE a LIKE 'shipment: %')
