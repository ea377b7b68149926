-- Before a push is sent: what is about to be sent, committed first, so a kill between the call and its
-- acknowledgement leaves a trace the next run checks with the channel before sending again.
UPDATE channel_bindings
SET pending_state = CAST(:state AS jsonb), pending_hash = :hash, pending_since = clock_timestamp(),
    updated_at = clock_timestamp()
WHERE id = :binding_id
