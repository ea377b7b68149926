-- The bindings of a batch of goods to their records in the channel, made where missing (insert-or-skip);
-- returns each good's binding either way.
WITH wanted AS (
    SELECT * FROM unnest(CAST(:internal_ids AS bigint[]), CAST(:external_ids AS text[])) AS w(internal_id, external_id)
), made AS (
    INSERT INTO channel_bindings (shop_id, channel, entity, internal_id, external_id)
    SELECT :shop_id, :channel, 'good', internal_id, external_id FROM wanted
    ON CONFLICT DO NOTHING
    RETURNING id, internal_id, external_id
)
SELECT id, internal_id, external_id FROM made
UNION ALL
SELECT b.id, b.internal_id, b.external_id
FROM channel_bindings b
JOIN wanted w ON w.internal_id = b.internal_id
WHERE b.shop_id = :shop_id AND b.channel = :channel AND b.entity = 'good'
  AND NOT EXISTS (SELECT 1 FROM made m WHERE m.internal_id = b.internal_id)
