-- The items of a batch the channel refused as such (an unknown product): kept with the reason and not sent
-- again until their state changes (see record_push_refused.sql).
UPDATE channel_bindings b
SET attempts = b.attempts + 1, last_error = r.error, refused_hash = b.pending_hash, updated_at = clock_timestamp()
FROM unnest(CAST(:binding_ids AS bigint[]), CAST(:errors AS text[])) AS r(id, error)
WHERE b.id = r.id
