-- shopsync schema version 9: an inbox file that keeps failing cannot stall the inbox, and a file that was
-- quarantined as cut off is taken again once it changes.
-- attempts: runs that started this receipt (a run killed or failed half way leaves it 'processing');
--           after the limit the next run quarantines the file instead of trying it again.
-- last_error: why the latest attempt did not finish (shown in the quarantine report).
-- cut_off_size / cut_off_mtime: size and mtime of a file quarantined as cut off (or empty); when the copy in
--           quarantine/ no longer has them (the uploader kept writing), it is moved back into the inbox.
-- retaken_at: when such a file was moved back (or found gone), so it is looked at only once.
ALTER TABLE order_files
    ADD COLUMN attempts      integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error    text,
    ADD COLUMN cut_off_size  bigint,
    ADD COLUMN cut_off_mtime double precision,
    ADD COLUMN retaken_at    timestamptz;

-- What each inbox file looked like when it was first seen with its current size and mtime: a file is
-- taken only when neither changed for the settle window (an upload that is still growing waits).
CREATE TABLE inbox_sightings (
    shop_id     text             NOT NULL,
    name        text             NOT NULL,
    size        bigint           NOT NULL,
    mtime       double precision NOT NULL,
    first_seen  timestamptz      NOT NULL,
    PRIMARY KEY (shop_id, name)
);
-- Every ingest run looks for cut-off files still to watch: few rows, found without reading the whole table.
CREATE INDEX order_files_cut_off_watch ON order_files (shop_id)
    WHERE status = 'quarantined' AND cut_off_size IS NOT NULL AND retaken_at IS NULL;
