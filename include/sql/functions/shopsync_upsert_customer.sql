-- shopsync_upsert_customer: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- Schema 5's entry point, same signature: the customer step of schema 6 without its reasons.
CREATE OR REPLACE FUNCTION shopsync_upsert_customer(p_customer jsonb, OUT customer_id bigint, OUT action text)
LANGUAGE sql AS $$
    SELECT m.customer_id, m.action FROM shopsync_match_customer(p_customer) AS m
$$;
