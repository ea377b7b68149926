-- A push that failed: counted, with its reason (secrets already removed); the pending state stays, so the
-- next run tries again or, after a refusal, a person sees why.
UPDATE channel_bindings
SET attempts = attempts + 1, last_error = :error, updated_at = clock_timestamp()
WHERE id = :binding_id
