-- Find-or-create the customer of a normalised customer document (see shopsync_upsert_customer).
SELECT customer_id, action FROM shopsync_upsert_customer(CAST(:customer AS jsonb))
