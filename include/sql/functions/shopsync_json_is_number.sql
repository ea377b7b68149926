-- shopsync_json_is_number: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- Checks of the order document's shape (helpers of shopsync_order_document_problem).
CREATE OR REPLACE FUNCTION shopsync_json_is_number(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(p_value) = 'number'
                    OR (jsonb_typeof(p_value) = 'string'
                        AND p_value #>> '{}' ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$'), false)
$$;
