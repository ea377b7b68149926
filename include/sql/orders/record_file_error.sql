-- Why the latest attempt at a receipt did not finish (the run failed; the file stays in the inbox).
UPDATE order_files SET last_error = :last_error WHERE id = :id
