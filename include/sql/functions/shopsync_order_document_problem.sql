-- shopsync_order_document_problem: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- What is wrong with an order document (the first thing found), or NULL when it can be applied.
-- The document, as shopsync.orders.apply.order_document builds it:
--   {"shop_id": text, "external_number": text (not empty, no surrounding spaces), "source_file_id": int|null,
--    "today": "YYYY-MM-DD", "warehouse_ids": [int, ...],
--    "invoice": {"payment_status": text, "payment_method" .. "comment": text|null, "order_date": ISO|null,
--                "reserve_until": "YYYY-MM-DD"|null, "currency": text, "total": number},
--    "customer": see shopsync_upsert_customer,
--    "lines": [{"line_no": 1, 2, ... in order, "good_id": int|null, "refs": [text, ...], "external_ref": text,
--               "name": text|null, "quantity": number, "price": number|null, "problems": [text, ...]}, ...],
--    "gift_certificates": [text, ...], "bonus_pay": number, "reasons": [text, ...]}
-- Numbers may be JSON numbers or strings holding a plain decimal number (no NaN, no Infinity).
CREATE OR REPLACE FUNCTION shopsync_order_document_problem(p_order jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_part   jsonb;
    v_key    text;
    v_line   jsonb;
    v_no     integer := 0;
    v_where  text;
BEGIN
    IF p_order IS NULL OR jsonb_typeof(p_order) <> 'object' THEN
        RETURN 'the order document must be a JSON object';
    END IF;
    FOREACH v_key IN ARRAY ARRAY['shop_id', 'external_number'] LOOP
        IF jsonb_typeof(p_order->v_key) IS DISTINCT FROM 'string' OR btrim(p_order->>v_key) = '' THEN
            RETURN format('"%s" must be a non-empty string', v_key);
        END IF;
    END LOOP;
    IF p_order->>'external_number' <> btrim(p_order->>'external_number') THEN
        RETURN '"external_number" must not start or end with spaces';
    END IF;
    IF coalesce(jsonb_typeof(p_order->'source_file_id'), 'null') <> 'null'
       AND NOT shopsync_json_is_integer(p_order->'source_file_id') THEN
        RETURN '"source_file_id" must be an integer or null';
    END IF;
    IF jsonb_typeof(p_order->'today') IS DISTINCT FROM 'string'
       OR p_order->>'today' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN '"today" must be a date as "YYYY-MM-DD"';
    END IF;
    IF jsonb_typeof(p_order->'warehouse_ids') IS DISTINCT FROM 'array'
       OR EXISTS (SELECT FROM jsonb_array_elements(p_order->'warehouse_ids') AS w WHERE NOT shopsync_json_is_integer(w)) THEN
        RETURN '"warehouse_ids" must be an array of integers';
    END IF;
    FOREACH v_key IN ARRAY ARRAY['gift_certificates', 'reasons'] LOOP
        IF NOT shopsync_json_is_text_array(p_order->v_key) THEN
            RETURN format('"%s" must be an array of strings', v_key);
        END IF;
    END LOOP;
    IF NOT shopsync_json_is_number(p_order->'bonus_pay') THEN
        RETURN '"bonus_pay" must be a number';
    END IF;

    v_part := p_order->'invoice';
    IF jsonb_typeof(v_part) IS DISTINCT FROM 'object' THEN
        RETURN '"invoice" must be an object';
    END IF;
    FOREACH v_key IN ARRAY ARRAY['payment_status', 'currency'] LOOP
        IF jsonb_typeof(v_part->v_key) IS DISTINCT FROM 'string' THEN
            RETURN format('"invoice.%s" must be a string', v_key);
        END IF;
    END LOOP;
    FOREACH v_key IN ARRAY ARRAY['payment_method', 'delivery_method', 'delivery_city', 'delivery_branch',
                                 'delivery_address', 'comment', 'order_date', 'reserve_until'] LOOP
        IF coalesce(jsonb_typeof(v_part->v_key), 'null') NOT IN ('string', 'null') THEN
            RETURN format('"invoice.%s" must be a string or null', v_key);
        END IF;
    END LOOP;
    IF v_part->>'reserve_until' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN '"invoice.reserve_until" must be a date as "YYYY-MM-DD" or null';
    END IF;
    IF NOT shopsync_json_is_number(v_part->'total') THEN
        RETURN '"invoice.total" must be a number';
    END IF;

    IF jsonb_typeof(p_order->'customer') IS DISTINCT FROM 'object' THEN
        RETURN '"customer" must be an object';           -- its fields: shopsync_customer_document_problem
    END IF;

    IF jsonb_typeof(p_order->'lines') IS DISTINCT FROM 'array' THEN
        RETURN '"lines" must be an array';
    END IF;
    FOR v_line IN SELECT l FROM jsonb_array_elements(p_order->'lines') AS l LOOP
        v_no := v_no + 1;
        v_where := format('"lines[%s]', v_no);
        IF jsonb_typeof(v_line) IS DISTINCT FROM 'object' THEN
            RETURN v_where || '" must be an object';
        END IF;
        IF NOT shopsync_json_is_integer(v_line->'line_no') THEN
            RETURN format('%s.line_no" must be %s (lines are numbered from 1, in order)', v_where, v_no);
        ELSIF (v_line->>'line_no')::integer <> v_no THEN
            RETURN format('%s.line_no" must be %s (lines are numbered from 1, in order)', v_where, v_no);
        END IF;
        IF coalesce(jsonb_typeof(v_line->'good_id'), 'null') <> 'null' AND NOT shopsync_json_is_integer(v_line->'good_id') THEN
            RETURN v_where || '.good_id" must be an integer or null';
        END IF;
        IF NOT shopsync_json_is_text_array(v_line->'refs') THEN
            RETURN v_where || '.refs" must be an array of strings';
        END IF;
        IF jsonb_typeof(v_line->'external_ref') IS DISTINCT FROM 'string' THEN
            RETURN v_where || '.external_ref" must be a string';
        END IF;
        IF coalesce(jsonb_typeof(v_line->'name'), 'null') NOT IN ('string', 'null') THEN
            RETURN v_where || '.name" must be a string or null';
        END IF;
        IF NOT shopsync_json_is_number(v_line->'quantity') THEN
            RETURN v_where || '.quantity" must be a number';
        END IF;
        IF coalesce(jsonb_typeof(v_line->'price'), 'null') <> 'null' AND NOT shopsync_json_is_number(v_line->'price') THEN
            RETURN v_where || '.price" must be a number or null';
        END IF;
        IF NOT shopsync_json_is_text_array(v_line->'problems') THEN
            RETURN v_where || '.problems" must be an array of strings';
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
