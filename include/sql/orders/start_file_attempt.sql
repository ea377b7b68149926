-- One more run takes this receipt; returns the attempts so far (this one included) and the last error.
UPDATE order_files SET attempts = attempts + 1
WHERE id = :id
RETURNING attempts, last_error
