-- A file seen with a new size or mtime (or for the first time): its settle window starts again now.
INSERT INTO inbox_sightings (shop_id, name, size, mtime, first_seen)
VALUES (:shop_id, :name, :size, :mtime, :first_seen)
ON CONFLICT (shop_id, name) DO UPDATE
SET size = EXCLUDED.size, mtime = EXCLUDED.mtime, first_seen = EXCLUDED.first_seen
