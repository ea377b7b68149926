-- Move a pull's cursor forward, never back (a slower run finishing late cannot rewind a faster one).
INSERT INTO channel_cursors (shop_id, channel, stream, position)
VALUES (:shop_id, :channel, :stream, :position)
ON CONFLICT (shop_id, channel, stream) DO UPDATE
SET position = greatest(channel_cursors.position, EXCLUDED.position), updated_at = clock_timestamp()
