-- Files a shop sent in a data interval (what a backfill of the ingest DAG re-applies from archive/).
SELECT id, file_name, sha256, status, stored_as, created_at
FROM order_files
WHERE shop_id = :shop_id AND created_at >= :start AND created_at < :end
  AND status = 'archived' AND stored_as IS NOT NULL
ORDER BY id
