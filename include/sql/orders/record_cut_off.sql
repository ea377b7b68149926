-- A file quarantined as cut off: remember its size and mtime, to take it again when it changes.
UPDATE order_files SET cut_off_size = :size, cut_off_mtime = :mtime WHERE id = :id
