-- One import of a map at a time (until the transaction ends): its counts and its result are its own.
SELECT pg_advisory_xact_lock(hashtext('shop_category_map'), hashtext(:map_key))
