-- shopsync_customer_document_problem: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- What is wrong with a customer document (see shopsync_upsert_customer), or NULL.
CREATE OR REPLACE FUNCTION shopsync_customer_document_problem(p_customer jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_key text;
BEGIN
    IF jsonb_typeof(p_customer) IS DISTINCT FROM 'object' THEN
        RETURN '"customer" must be an object';
    END IF;
    IF jsonb_typeof(p_customer->'full_name') IS DISTINCT FROM 'string' THEN
        RETURN '"customer.full_name" must be a string';
    END IF;
    FOREACH v_key IN ARRAY ARRAY['email', 'country', 'region', 'city', 'zip', 'np_branch', 'address'] LOOP
        IF coalesce(jsonb_typeof(p_customer->v_key), 'null') NOT IN ('string', 'null') THEN
            RETURN format('"customer.%s" must be a string or null', v_key);
        END IF;
    END LOOP;
    IF jsonb_typeof(p_customer->'phones') IS DISTINCT FROM 'array'
       OR EXISTS (SELECT FROM jsonb_array_elements(p_customer->'phones') AS p
                  WHERE jsonb_typeof(p->'e164') IS DISTINCT FROM 'string' OR p->>'e164' !~ '^\+[0-9]{2,20}$'
                     OR jsonb_typeof(p->'raw') IS DISTINCT FROM 'string') THEN
        RETURN '"customer.phones" must be an array of {"e164": "+<digits>", "raw": text}';
    END IF;
    IF (SELECT count(*) <> count(DISTINCT p->>'e164') FROM jsonb_array_elements(p_customer->'phones') AS p) THEN
        RETURN '"customer.phones" must not name one phone twice';
    END IF;
    RETURN NULL;
END $$;
