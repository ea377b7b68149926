-- The binding of one external record to an internal one, made the first time it is seen (insert-or-skip on
-- the external id); returns the binding either way, so a second pull of the same order binds nothing new.
WITH made AS (
    INSERT INTO channel_bindings (shop_id, channel, entity, internal_id, external_id)
    VALUES (:shop_id, :channel, :entity, :internal_id, :external_id)
    ON CONFLICT (shop_id, channel, entity, external_id) DO NOTHING
    RETURNING *
)
SELECT * FROM made
UNION ALL
SELECT * FROM channel_bindings
WHERE shop_id = :shop_id AND channel = :channel AND entity = :entity AND external_id = :external_id
  AND NOT EXISTS (SELECT 1 FROM made)
