-- The items of a batch the channel processed: each pending state becomes what was pushed last
-- (see record_push_acknowledged.sql).
UPDATE channel_bindings b
SET pushed_state = b.pending_state, pushed_hash = b.pending_hash, pushed_at = clock_timestamp(),
    pending_state = NULL, pending_hash = NULL, pending_since = NULL, attempts = 0, last_error = NULL,
    refused_hash = NULL, updated_at = clock_timestamp()
FROM unnest(CAST(:binding_ids AS bigint[]), CAST(:hashes AS text[])) AS a(id, hash)
WHERE b.id = a.id AND b.pending_hash = a.hash
