-- Before a batch is sent: what is about to be sent for each of its bindings, committed first in one
-- transaction (see record_push_intent.sql).
UPDATE channel_bindings b
SET pending_state = CAST(i.state AS jsonb), pending_hash = i.hash, pending_since = clock_timestamp(),
    updated_at = clock_timestamp()
FROM unnest(CAST(:binding_ids AS bigint[]), CAST(:states AS text[]), CAST(:hashes AS text[])) AS i(id, state, hash)
WHERE b.id = i.id
