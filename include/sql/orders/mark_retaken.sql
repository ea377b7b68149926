UPDATE order_files SET retaken_at = clock_timestamp() WHERE id = :id
