-- A session advisory lock (held until released or the session ends, so a killed run's lock goes with it):
-- :namespace names the kind of work (core/locks.py lists them), :name the shop (and channel) it is for.
SELECT pg_try_advisory_lock(CAST(:namespace AS integer), hashtext(CAST(:name AS text)))
