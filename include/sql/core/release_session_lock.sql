SELECT pg_advisory_unlock(CAST(:namespace AS integer), hashtext(CAST(:name AS text)))
