-- shopsync_order_checks_problem: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- What is wrong with the parts of an order document that schema 6 added (all optional, for callers that
-- build documents of their own), or NULL:
--   "content": object, "content_digest": text (both or neither),
--   "checks": {"min_price_share": number, "max_free_stock_share": number, "share_min_quantity": number}.
CREATE OR REPLACE FUNCTION shopsync_order_checks_problem(p_order jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_key text;
BEGIN
    IF coalesce(jsonb_typeof(p_order->'content'), 'null') NOT IN ('object', 'null') THEN
        RETURN '"content" must be an object or null';
    END IF;
    IF coalesce(jsonb_typeof(p_order->'content_digest'), 'null') NOT IN ('string', 'null') THEN
        RETURN '"content_digest" must be a string or null';
    END IF;
    IF (p_order->'content' IS NULL OR p_order->'content' = 'null')
       <> (p_order->'content_digest' IS NULL OR p_order->'content_digest' = 'null') THEN
        RETURN '"content" and "content_digest" go together';
    END IF;
    IF coalesce(jsonb_typeof(p_order->'checks'), 'null') = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_order->'checks') <> 'object' THEN
        RETURN '"checks" must be an object or null';
    END IF;
    FOREACH v_key IN ARRAY ARRAY['min_price_share', 'max_free_stock_share', 'share_min_quantity'] LOOP
        IF NOT shopsync_json_is_number(p_order->'checks'->v_key) THEN
            RETURN format('"checks.%s" must be a number', v_key);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
