-- shopsync_json_is_integer: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
CREATE OR REPLACE FUNCTION shopsync_json_is_integer(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_value) = 'number' AND p_value #>> '{}' ~ '^-?[0-9]{1,10}$'
                THEN (p_value #>> '{}')::bigint BETWEEN -2147483648 AND 2147483647
                ELSE false END
$$;
