-- Find-or-create the customer of a normalised customer document, with what a person should look at
-- (see shopsync_match_customer).
SELECT customer_id, action, reasons FROM shopsync_match_customer(CAST(:customer AS jsonb))
