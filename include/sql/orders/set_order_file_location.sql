UPDATE order_files SET stored_as = :stored_as WHERE id = :id
