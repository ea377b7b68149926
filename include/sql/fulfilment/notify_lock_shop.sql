-- One buyer-mail run per shop at a time (a session lock held for the run): with it, a message still 'sending'
-- when a run starts was left by a run that was killed, never by one still at work. 7420041 is this lock's
-- first key (7420002: customers, 7420003: channel pushes).
SELECT pg_try_advisory_lock(7420041, hashtext(CAST(:shop_id AS text)))
