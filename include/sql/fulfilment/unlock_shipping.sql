SELECT pg_advisory_unlock(7420014, hashtext(CAST(:shop_id AS text)))
