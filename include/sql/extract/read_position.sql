-- The moment an extract reads at: its wall time, and its transaction snapshot (xmin:xmax:in-progress xids),
-- the database position the publish order rule compares (catalog/position.py). First statement of the
-- extract's REPEATABLE READ transaction, so the snapshot is the one every later statement reads.
SELECT now() AS extracted_at, pg_current_snapshot()::text AS position
