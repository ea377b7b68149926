-- Files of a shop quarantined as cut off that were not taken again yet.
SELECT id, file_name, stored_as, cut_off_size, cut_off_mtime
FROM order_files
WHERE shop_id = :shop_id AND status = 'quarantined' AND cut_off_size IS NOT NULL AND retaken_at IS NULL
  AND stored_as IS NOT NULL
ORDER BY id
