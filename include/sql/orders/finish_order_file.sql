UPDATE order_files
SET format = :format, status = :status, orders_total = :orders_total, applied = :applied,
    skipped = :skipped, flagged = :flagged, rejected = :rejected, conflicts = :conflicts,
    details = CAST(:details AS jsonb)
WHERE id = :id
