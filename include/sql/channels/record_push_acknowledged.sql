-- The channel acknowledged the pending push: it becomes what was pushed last.
UPDATE channel_bindings
SET pushed_state = pending_state, pushed_hash = pending_hash, pushed_at = clock_timestamp(),
    pending_state = NULL, pending_hash = NULL, pending_since = NULL, attempts = 0, last_error = NULL, refused_hash = NULL,
    updated_at = clock_timestamp()
WHERE id = :binding_id AND pending_hash = :hash
RETURNING id
