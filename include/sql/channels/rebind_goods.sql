-- Goods found in the channel after all (a product made there since the last look): their bindings now
-- point at the channel's record.
UPDATE channel_bindings b
SET external_id = f.external_id, updated_at = clock_timestamp()
FROM unnest(CAST(:binding_ids AS bigint[]), CAST(:external_ids AS text[])) AS f(id, external_id)
WHERE b.id = f.id
