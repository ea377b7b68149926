-- One shipping pass per shop at a time (a session lock held for the pass; `shopsync cancel` takes it too, so a
-- cancellation never races a waybill being created). 7420014 is this lock's first key (7420002: customers,
-- 7420003: channel pushes).
SELECT pg_try_advisory_lock(7420014, hashtext(CAST(:shop_id AS text)))
