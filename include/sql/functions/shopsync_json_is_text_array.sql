-- shopsync_json_is_text_array: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
CREATE OR REPLACE FUNCTION shopsync_json_is_text_array(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(p_value) = 'array'
                    AND NOT jsonb_path_exists(p_value, '$[*] ? (@.type() != "string")'), false)
$$;
