-- A receipt of this very file that a killed run left unfinished (re-used, so nothing is counted twice).
SELECT id FROM order_files
WHERE shop_id = :shop_id AND file_name = :file_name AND sha256 = :sha256 AND status = 'processing'
ORDER BY id DESC
LIMIT 1
