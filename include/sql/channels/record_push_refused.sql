-- The channel refused the pending state as such: kept with the reason, and not sent again until the state
-- changes (a person sees it in `shopsync orders --attention`).
UPDATE channel_bindings
SET attempts = attempts + 1, last_error = :error, refused_hash = pending_hash, updated_at = clock_timestamp()
WHERE id = :binding_id
