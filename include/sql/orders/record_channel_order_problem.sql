-- A channel order that cannot land: kept whole with why (the latest copy and reasons win).
INSERT INTO channel_order_problems (shop_id, channel, external_id, raw, reasons)
VALUES (:shop_id, :channel, :external_id, CAST(:raw AS jsonb), CAST(:reasons AS text[]))
ON CONFLICT (shop_id, channel, external_id) DO UPDATE
SET raw = EXCLUDED.raw, reasons = EXCLUDED.reasons, last_seen = clock_timestamp(),
    times_seen = channel_order_problems.times_seen + 1
