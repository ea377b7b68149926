-- One pusher per shop and channel at a time (a session lock held for the push run): two runs at once could
-- otherwise send an older state after a newer one. 7420003 is this lock's first key (7420002: customers).
SELECT pg_try_advisory_lock(7420003, hashtext(CAST(:shop_id AS text) || '/' || CAST(:channel AS text)))
