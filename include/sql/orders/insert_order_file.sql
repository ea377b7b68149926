INSERT INTO order_files (shop_id, file_name, sha256, status)
VALUES (:shop_id, :file_name, :sha256, 'processing')
RETURNING id
