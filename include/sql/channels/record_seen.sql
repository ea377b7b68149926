-- The channel's status as read now, kept only when the read is not older than the one kept (events come out
-- of order: an order listed again from an earlier page must not undo a later change). Returns the row when
-- it was newer.
UPDATE channel_bindings
SET external_status = :status, external_changed_at = coalesce(CAST(:changed_at AS timestamptz), external_changed_at),
    updated_at = clock_timestamp()
WHERE id = :binding_id
  AND (external_changed_at IS NULL OR CAST(:changed_at AS timestamptz) IS NULL
       OR external_changed_at <= CAST(:changed_at AS timestamptz))
RETURNING id
