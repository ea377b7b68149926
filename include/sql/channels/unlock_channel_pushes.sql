SELECT pg_advisory_unlock(7420003, hashtext(CAST(:shop_id AS text) || '/' || CAST(:channel AS text)))
