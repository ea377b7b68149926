-- shopsync schema version 3: where a processed order file was moved (archive/... or quarantine/...),
-- so a backfill can re-apply the files of an interval and an operator can find them.
ALTER TABLE order_files ADD COLUMN stored_as text;
