-- A batch that failed as a whole (the channel down, timing out, refusing the request): counted with the
-- reason; the pending states stay, so the next run sends them again.
UPDATE channel_bindings
SET attempts = attempts + 1, last_error = :error, updated_at = clock_timestamp()
WHERE id = ANY(CAST(:binding_ids AS bigint[]))
