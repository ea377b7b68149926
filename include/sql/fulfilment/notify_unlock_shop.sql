SELECT pg_advisory_unlock(7420041, hashtext(CAST(:shop_id AS text)))
