-- The database's catalog epoch (schema 007; NULL before it or when the row is gone) and change_log's
-- largest id (an index lookup): what an incremental export checks before trusting its snapshot.
SELECT (SELECT e.epoch FROM catalog_epoch e WHERE e.singleton) AS epoch,
       coalesce((SELECT max(c.id) FROM change_log c), 0)        AS change_log_id
