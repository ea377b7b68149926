-- shopsync schema version 5: applying an order is one server-side call, shopsync_apply_order(jsonb).
--
-- Python parses, validates and normalises an order (phones in E.164, e-mail lower-case, quantities and
-- prices as the columns store them, the problems it can see on its own) and sends one JSON document;
-- these functions do the database side in the caller's transaction, with the same steps, locks and
-- messages as before: one round trip per order instead of ~16 statements.
--
-- Lock order (every caller takes them in this order, so concurrent orders cannot deadlock):
--   invoice (insert-or-skip on shop + external number) -> advisory locks on the customer's phones and
--   e-mail (sorted) -> the customer row -> stock rows in (good_id, warehouse_id) order -> gift
--   certificates (barcode order) -> the customer row again (bonus; already held).
--
-- Every statement here is CREATE OR REPLACE: running the file again changes nothing.

-- Change capture (schema version 1) without a dynamic statement for inserts and updates: the same rows in
-- change_log, but the INSERT is planned once per trigger instead of parsed and planned at every firing
-- (an order fires it three to four times: customer, phones, reservations). Key columns other than these
-- three, and deletions, keep the dynamic form.
CREATE OR REPLACE FUNCTION log_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity_name text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    op_code     char(1) := left(TG_OP, 1);
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM old_rows', entity_name, key_column, op_code);
    ELSIF key_column = 'id' THEN
        INSERT INTO change_log (entity, entity_id, op) SELECT DISTINCT entity_name, n.id, op_code FROM new_rows n;
    ELSIF key_column = 'good_id' THEN
        INSERT INTO change_log (entity, entity_id, op)
        SELECT DISTINCT entity_name, n.good_id, op_code FROM new_rows n;
    ELSIF key_column = 'customer_id' THEN
        INSERT INTO change_log (entity, entity_id, op)
        SELECT DISTINCT entity_name, n.customer_id, op_code FROM new_rows n;
    ELSE
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM new_rows', entity_name, key_column, op_code);
    END IF;
    RETURN NULL;
END $$;

-- Lock the stock rows of these goods at these warehouses, always in (good_id, warehouse_id) order:
-- every transaction that reserves or ships locks its rows through this function.
CREATE OR REPLACE FUNCTION shopsync_lock_stock(p_good_ids integer[], p_warehouse_ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1
    FROM stock
    WHERE good_id = ANY(p_good_ids) AND warehouse_id = ANY(p_warehouse_ids)
    ORDER BY good_id, warehouse_id
    FOR UPDATE;
END $$;

-- Reserve invoice lines (parallel arrays, in the order given), each up to what is free, from the warehouses
-- in ascending id order; returns every line with what it wanted and what it got, in the order given.
-- Lines of one good share its free stock in line order: line k takes the part of the good's free stock
-- between what the earlier lines wanted and that plus its own quantity (warehouse by warehouse), which is
-- the same as filling the lines one after another.
-- The rows are locked first, in a statement of their own: free stock is read after the lock, so it
-- includes what concurrent orders reserved before they let go of the rows.
CREATE OR REPLACE FUNCTION shopsync_reserve_lines(
    p_invoice_id bigint, p_line_nos integer[], p_good_ids integer[], p_quantities numeric[], p_warehouse_ids integer[]
) RETURNS TABLE (line_no integer, good_id integer, wanted numeric, reserved numeric)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    IF cardinality(p_line_nos) IS DISTINCT FROM cardinality(p_good_ids)
       OR cardinality(p_line_nos) IS DISTINCT FROM cardinality(p_quantities) THEN
        RAISE EXCEPTION 'shopsync_reserve_lines: line numbers, goods and quantities must be arrays of the same length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM shopsync_lock_stock(p_good_ids, p_warehouse_ids);
    RETURN QUERY
    WITH lines AS (
        SELECT l.line_no, l.good_id, l.quantity, l.ord,
               sum(greatest(l.quantity, 0)) OVER (PARTITION BY l.good_id ORDER BY l.ord) AS upto
        FROM unnest(p_line_nos, p_good_ids, p_quantities) WITH ORDINALITY AS l (line_no, good_id, quantity, ord)
    ), places AS (
        -- One lateral lookup per good: with `good_id = ANY(...)` on the view the planner would aggregate
        -- every active reservation of the database instead of the few of these goods.
        SELECT g.good_id, f.warehouse_id, f.free,
               sum(f.free) OVER (PARTITION BY g.good_id ORDER BY f.warehouse_id) AS upto
        FROM (SELECT DISTINCT u.good_id FROM unnest(p_good_ids) AS u (good_id)) AS g
        CROSS JOIN LATERAL (
            SELECT fs.warehouse_id, fs.free
            FROM free_stock fs
            WHERE fs.good_id = g.good_id AND fs.warehouse_id = ANY(p_warehouse_ids) AND fs.free > 0
            OFFSET 0
        ) AS f
    ), takes AS (
        SELECT l.line_no, l.good_id, p.warehouse_id, l.ord,
               least(l.upto, p.upto) - greatest(l.upto - greatest(l.quantity, 0), p.upto - p.free) AS quantity
        FROM lines l
        JOIN places p ON p.good_id = l.good_id
        WHERE least(l.upto, p.upto) > greatest(l.upto - greatest(l.quantity, 0), p.upto - p.free)
    ), inserted AS (
        INSERT INTO reservations (invoice_id, line_no, good_id, warehouse_id, quantity)
        SELECT p_invoice_id, t.line_no, t.good_id, t.warehouse_id, t.quantity
        FROM takes t
        ORDER BY t.ord, t.warehouse_id
        RETURNING reservations.line_no, reservations.quantity
    ), per_line AS (
        SELECT i.line_no, sum(i.quantity) AS quantity FROM inserted i GROUP BY i.line_no
    ), updated AS (
        UPDATE invoice_lines il
        SET reserved_qty = il.reserved_qty + pl.quantity
        FROM per_line pl
        WHERE il.invoice_id = p_invoice_id AND il.line_no = pl.line_no
    )
    SELECT l.line_no, l.good_id, l.quantity, coalesce(pl.quantity, 0::numeric)
    FROM lines l
    LEFT JOIN per_line pl ON pl.line_no = l.line_no
    ORDER BY l.ord;
END $$;

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

-- Find the order's customer (any of the phones first, then the e-mail) and update them, or create them.
-- p_customer: {"full_name": text, "email": text|null, "country" .. "address": text|null,
--              "phones": [{"e164": text, "raw": text}, ...]}, all already cleaned by the caller.
-- A found customer gets the non-empty contact data (empty fields never wipe what is known); the name is
-- only filled in when none is stored. Advisory locks on the phones and e-mail (sorted) make concurrent
-- orders of one new customer create one customer, not two. action: created / updated / unchanged.
CREATE OR REPLACE FUNCTION shopsync_upsert_customer(p_customer jsonb, OUT customer_id bigint, OUT action text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_problem text := shopsync_customer_document_problem(p_customer);
    v_email   text := p_customer->>'email';
    v_phones  text[];
    v_phone   text;
    v_active  boolean;
    v_best_id bigint;
    v_best_active boolean;
    v_found   customers%ROWTYPE;
    v_merged  customers%ROWTYPE;
    v_id      bigint;
    v_action  text;
    v_added   integer := 0;
BEGIN
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'shopsync_upsert_customer: %', v_problem USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- E.164 phones (checked above) need no quoting: the JSON array's text is the array literal's
    v_phones := translate(jsonb_path_query_array(p_customer, '$.phones[*].e164')::text, '[]', '{}')::text[];
    -- One lock per phone and e-mail, sorted, so two orders naming them in another order cannot deadlock.
    -- 7420002: the first key of the project's two-key advisory locks on customers (no other lock uses it).
    PERFORM pg_advisory_xact_lock(7420002, hashtext(keys.k))
    FROM (
        SELECT k FROM (
            SELECT 'phone:' || ph AS k FROM unnest(v_phones) AS ph
            UNION
            SELECT 'email:' || v_email WHERE v_email IS NOT NULL
        ) AS sorted_keys
        ORDER BY k COLLATE "C"
    ) AS keys;

    -- By phone: one index lookup per phone (a plan for "= ANY(array)" made while the tables are small
    -- scans them whole, and this session's plans are kept), the best candidate (active first, then the
    -- oldest) locked afterwards; the advisory locks above keep other orders of these phones out meanwhile.
    FOREACH v_phone IN ARRAY v_phones LOOP
        SELECT c.id, c.is_active INTO v_id, v_active
        FROM customer_phones AS p
        JOIN customers AS c ON c.id = p.customer_id
        WHERE p.phone_e164 = v_phone
        ORDER BY c.is_active DESC, c.id
        LIMIT 1;
        IF FOUND AND (v_best_id IS NULL OR (v_active, -v_id) > (v_best_active, -v_best_id)) THEN
            v_best_id := v_id;
            v_best_active := v_active;
        END IF;
    END LOOP;
    IF v_best_id IS NOT NULL THEN
        SELECT c.* INTO v_found FROM customers AS c WHERE c.id = v_best_id FOR NO KEY UPDATE;
    END IF;
    IF v_found.id IS NULL AND v_email IS NOT NULL THEN
        SELECT c.* INTO v_found
        FROM customers AS c
        WHERE c.email = v_email
        ORDER BY c.is_active DESC, c.id
        LIMIT 1
        FOR NO KEY UPDATE;
    END IF;

    IF v_found.id IS NULL THEN
        INSERT INTO customers (full_name, email, country, region, city, zip, np_branch, address)
        VALUES (coalesce(p_customer->>'full_name', ''), v_email, p_customer->>'country', p_customer->>'region',
                p_customer->>'city', p_customer->>'zip', p_customer->>'np_branch', p_customer->>'address')
        RETURNING id INTO v_id;
        v_action := 'created';
    ELSE
        v_id := v_found.id;
        v_merged := v_found;
        IF v_found.full_name = '' THEN
            v_merged.full_name := coalesce(p_customer->>'full_name', '');
        END IF;
        v_merged.email := coalesce(v_email, v_found.email);
        v_merged.country := coalesce(p_customer->>'country', v_found.country);
        v_merged.region := coalesce(p_customer->>'region', v_found.region);
        v_merged.city := coalesce(p_customer->>'city', v_found.city);
        v_merged.zip := coalesce(p_customer->>'zip', v_found.zip);
        v_merged.np_branch := coalesce(p_customer->>'np_branch', v_found.np_branch);
        v_merged.address := coalesce(p_customer->>'address', v_found.address);
        IF (v_merged.full_name, v_merged.email, v_merged.country, v_merged.region, v_merged.city, v_merged.zip,
            v_merged.np_branch, v_merged.address)
           IS DISTINCT FROM
           (v_found.full_name, v_found.email, v_found.country, v_found.region, v_found.city, v_found.zip,
            v_found.np_branch, v_found.address) THEN
            UPDATE customers
            SET full_name = v_merged.full_name, email = v_merged.email, country = v_merged.country,
                region = v_merged.region, city = v_merged.city, zip = v_merged.zip,
                np_branch = v_merged.np_branch, address = v_merged.address
            WHERE id = v_id;
            v_action := 'updated';
        ELSE
            v_action := 'unchanged';
        END IF;
    END IF;

    IF cardinality(v_phones) > 0 THEN
        WITH added AS (
            INSERT INTO customer_phones (customer_id, phone_raw, phone_e164)
            SELECT v_id, p->>'raw', p->>'e164'
            FROM jsonb_array_elements(p_customer->'phones') AS p
            ON CONFLICT (customer_id, phone_e164) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) INTO v_added FROM added;
        IF v_added > 0 AND v_action = 'unchanged' THEN
            v_action := 'updated';
        END IF;
    END IF;
    customer_id := v_id;
    action := v_action;
END $$;

-- Checks of the order document's shape (helpers of shopsync_order_document_problem).
CREATE OR REPLACE FUNCTION shopsync_json_is_number(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(p_value) = 'number'
                    OR (jsonb_typeof(p_value) = 'string'
                        AND p_value #>> '{}' ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$'), false)
$$;

CREATE OR REPLACE FUNCTION shopsync_json_is_integer(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_value) = 'number' AND p_value #>> '{}' ~ '^-?[0-9]{1,10}$'
                THEN (p_value #>> '{}')::bigint BETWEEN -2147483648 AND 2147483647
                ELSE false END
$$;

CREATE OR REPLACE FUNCTION shopsync_json_is_text_array(p_value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(p_value) = 'array'
                    AND NOT jsonb_path_exists(p_value, '$[*] ? (@.type() != "string")'), false)
$$;

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

-- Apply one order in the caller's transaction; returns
--   {"status": "applied"|"flagged"|"skipped", "invoice_id": int, "reasons": [text, ...],
--    "reserved": [[good_id, "quantity"], ...] (reserved now, per good, in line order),
--    "customer_id": int|null, "customer_action": "created"|"updated"|"unchanged"|null}.
-- Steps: invoice insert-or-skip (an order already present is "skipped" and nothing else is touched);
-- customer; lines with the ordered and the retail price; reservation of every line (none at all when
-- a line has problems, what is free when stock is short); gift certificates; bonus payment; the
-- invoice's status and attention reasons. A malformed document raises invalid_parameter_value.
CREATE OR REPLACE FUNCTION shopsync_apply_order(p_order jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_problem     text := shopsync_order_document_problem(p_order);
    v_invoice     jsonb := p_order->'invoice';
    v_shop        text := p_order->>'shop_id';
    v_number      text := p_order->>'external_number';
    v_today       date;
    v_warehouses  integer[];
    v_currency    char(3);
    v_invoice_id  bigint;
    v_customer    record;
    v_reasons     text[];
    v_lines       integer;
    v_usable      boolean;
    v_line_nos    integer[];
    v_good_ids    integer[];
    v_quantities  numeric[];
    v_names       text[];
    v_more        text[];
    v_reserved    jsonb := '[]';
    v_fully       boolean := false;
    v_code        text;
    v_certificate record;
    v_bonus       numeric;
    v_had         numeric;
    v_deducted    numeric := 0;
BEGIN
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'shopsync_apply_order: %', v_problem USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_today := (p_order->>'today')::date;
    v_warehouses := translate(p_order->>'warehouse_ids', '[]', '{}')::integer[];   -- integers (checked above)

    -- 1. The invoice, insert-or-skip on (shop_id, external_number).
    INSERT INTO invoices (
        shop_id, external_number, payment_status, payment_method,
        delivery_method, delivery_city, delivery_branch, delivery_address,
        comment, order_date, reserve_until, currency, total, source_file_id
    ) VALUES (
        v_shop, v_number, v_invoice->>'payment_status', v_invoice->>'payment_method',
        v_invoice->>'delivery_method', v_invoice->>'delivery_city', v_invoice->>'delivery_branch',
        v_invoice->>'delivery_address', v_invoice->>'comment', (v_invoice->>'order_date')::timestamptz,
        (v_invoice->>'reserve_until')::date, v_invoice->>'currency', (v_invoice->>'total')::numeric,
        (p_order->>'source_file_id')::bigint
    )
    ON CONFLICT (shop_id, external_number) DO NOTHING
    RETURNING id INTO v_invoice_id;
    IF v_invoice_id IS NULL THEN
        SELECT id INTO v_invoice_id FROM invoices WHERE shop_id = v_shop AND external_number = v_number;
        RETURN jsonb_build_object(
            'status', 'skipped', 'invoice_id', v_invoice_id,
            'reasons', jsonb_build_array(format('order %s is already invoice %s', v_number, v_invoice_id)),
            'reserved', '[]'::jsonb, 'customer_id', NULL, 'customer_action', NULL);
    END IF;
    v_currency := v_invoice->>'currency';

    -- 2. The customer.
    v_customer := shopsync_upsert_customer(p_order->'customer');
    IF jsonb_array_length(p_order->'reasons') = 0 THEN
        v_reasons := '{}';
    ELSE
        v_reasons := ARRAY(SELECT jsonb_array_elements_text(p_order->'reasons'));
    END IF;

    -- 3. The lines: each good by our id when it exists, else by article / barcode (the first reference that
    -- matches anything decides); the retail price in the order's currency.
    WITH lines AS (
        SELECT l.*
        FROM jsonb_to_recordset(p_order->'lines') AS l (
            line_no integer, good_id integer, refs text[], external_ref text, name text,
            quantity numeric, price numeric, problems text[])
    ), resolved AS (
        SELECT l.line_no, l.external_ref, l.name, l.quantity, l.price,
               coalesce(by_id.id, CASE WHEN cardinality(m.ids) = 1 THEN m.ids[1] END) AS good_id,
               coalesce(by_id.name, CASE WHEN cardinality(m.ids) = 1 THEN m.names[1] END) AS good_name,
               l.problems || CASE
                   WHEN by_id.id IS NOT NULL OR cardinality(m.ids) = 1 THEN '{}'::text[]
                   WHEN m.ids IS NULL
                       THEN ARRAY['unknown good: no good with this id, article or barcode in the accounting database']
                   ELSE ARRAY[format('«%s» matches several goods (%s)', m.ref, array_to_string(m.ids, ', '))]
               END AS problems
        FROM lines l
        LEFT JOIN goods by_id ON by_id.id = l.good_id
        LEFT JOIN LATERAL (
            SELECT r.ref, array_agg(g.id ORDER BY g.id) AS ids, array_agg(g.name ORDER BY g.id) AS names
            FROM unnest(l.refs) WITH ORDINALITY AS r (ref, ord)
            JOIN goods g ON g.article = r.ref OR g.barcode = r.ref
            WHERE by_id.id IS NULL
            GROUP BY r.ord, r.ref
            ORDER BY r.ord
            LIMIT 1
        ) AS m ON true
    ), labelled AS (
        SELECT r.*,
               format('line %s (%s%s)', r.line_no, r.external_ref,
                      coalesce(' «' || coalesce(nullif(r.good_name, ''), r.name) || '»', '')) AS label
        FROM resolved r
    ), inserted AS (
        INSERT INTO invoice_lines (invoice_id, line_no, good_id, external_ref, name, quantity, ordered_price, db_price)
        SELECT v_invoice_id, r.line_no, r.good_id, r.external_ref, coalesce(r.name, r.good_name), r.quantity,
               r.price, p.price
        FROM labelled r
        LEFT JOIN prices p ON p.good_id = r.good_id AND p.price_type_id = 1 AND p.currency = v_currency
    )
    SELECT count(*),
           coalesce(bool_and(cardinality(r.problems) = 0), false),
           array_agg(r.line_no ORDER BY r.line_no),
           array_agg(r.good_id ORDER BY r.line_no),
           array_agg(r.quantity ORDER BY r.line_no),
           array_agg(r.good_name ORDER BY r.line_no),
           ARRAY(SELECT x.label || ': ' || pr.problem
                 FROM labelled x, unnest(x.problems) WITH ORDINALITY AS pr (problem, ord)
                 ORDER BY x.line_no, pr.ord)
    INTO v_lines, v_usable, v_line_nos, v_good_ids, v_quantities, v_names, v_more
    FROM labelled r;
    v_reasons := v_reasons || v_more;

    -- 4. Reservations: all lines or none.
    IF v_lines = 0 THEN
        v_reasons := v_reasons || 'the order has no lines'::text;
    ELSIF NOT v_usable THEN
        v_reasons := v_reasons || 'nothing reserved: the order has lines that need attention'::text;
    ELSE
        WITH got AS (
            SELECT x.line_no, x.good_id, x.wanted, x.reserved, x.ord, n.name
            FROM shopsync_reserve_lines(v_invoice_id, v_line_nos, v_good_ids, v_quantities, v_warehouses)
                 WITH ORDINALITY AS x (line_no, good_id, wanted, reserved, ord)
            JOIN unnest(v_line_nos, v_names) AS n (line_no, name) ON n.line_no = x.line_no
        )
        SELECT ARRAY(SELECT CASE WHEN g.reserved = 0
                                 THEN format('good %s «%s»: ordered %s, none free — nothing reserved',
                                             g.good_id, g.name, trim_scale(g.wanted))
                                 ELSE format('good %s «%s»: ordered %s, only %s free — reserved %s',
                                             g.good_id, g.name, trim_scale(g.wanted), trim_scale(g.reserved),
                                             trim_scale(g.reserved))
                            END
                     FROM got g WHERE g.reserved < g.wanted ORDER BY g.ord),
               (SELECT coalesce(jsonb_agg(jsonb_build_array(s.good_id, s.reserved::text) ORDER BY s.first), '[]')
                FROM (SELECT g.good_id, sum(g.reserved) AS reserved, min(g.ord) AS first
                      FROM got g WHERE g.reserved > 0 GROUP BY g.good_id) AS s)
        INTO v_more, v_reserved;
        v_fully := cardinality(v_more) = 0;
        v_reasons := v_reasons || v_more;
    END IF;

    -- 5. Gift certificates (in the order given: the caller sorts them), taken only when active and unexpired;
    -- a concurrent second use finds no row and gets the reason.
    IF jsonb_array_length(p_order->'gift_certificates') > 0 THEN
        FOR v_code IN SELECT jsonb_array_elements_text(p_order->'gift_certificates') LOOP
            UPDATE gift_certificates
            SET status = 'used', used_at = clock_timestamp(), used_invoice_id = v_invoice_id
            WHERE barcode = v_code AND status = 'active' AND (valid_until IS NULL OR valid_until >= v_today);
            CONTINUE WHEN FOUND;
            SELECT status, valid_until, used_invoice_id INTO v_certificate FROM gift_certificates WHERE barcode = v_code;
            IF NOT FOUND THEN
                v_reasons := v_reasons || format('gift certificate %s does not exist', v_code);
            ELSIF v_certificate.status = 'used' THEN
                v_reasons := v_reasons || format('gift certificate %s was already used%s', v_code,
                                                 CASE WHEN v_certificate.used_invoice_id IS NOT NULL
                                                      THEN format(' (invoice %s)', v_certificate.used_invoice_id)
                                                      ELSE '' END);
            ELSIF v_certificate.status = 'blocked' THEN
                v_reasons := v_reasons || format('gift certificate %s is blocked', v_code);
            ELSE
                v_reasons := v_reasons || format('gift certificate %s expired on %s', v_code,
                                                 to_char(v_certificate.valid_until, 'YYYY-MM-DD'));
            END IF;
        END LOOP;
    END IF;

    -- 6. Bonus payment: deducted from the balance, never below zero (the customer row is already locked).
    v_bonus := (p_order->>'bonus_pay')::numeric;
    IF v_bonus < 0 THEN
        v_reasons := v_reasons || format('bonus payment must not be negative, got %s: ignored', trim_scale(v_bonus));
    ELSIF v_bonus > 0 THEN
        WITH before AS (
            SELECT id, bonus_balance FROM customers WHERE id = v_customer.customer_id FOR NO KEY UPDATE
        )
        UPDATE customers AS c
        SET bonus_balance = c.bonus_balance - least(before.bonus_balance, v_bonus)
        FROM before
        WHERE c.id = before.id
        RETURNING before.bonus_balance, least(before.bonus_balance, v_bonus) INTO v_had, v_deducted;
        IF v_had < v_bonus THEN
            v_reasons := v_reasons || format('bonus payment %s but the customer had only %s — deducted %s',
                                             trim_scale(v_bonus), trim_scale(v_had), trim_scale(v_deducted));
        END IF;
    END IF;

    -- 7. Status: 'reserved' when every line is reserved in full; needs_attention when there is any reason.
    UPDATE invoices
    SET customer_id = v_customer.customer_id,
        status = CASE WHEN v_fully THEN 'reserved' ELSE 'new' END,
        bonus_paid = v_deducted,
        needs_attention = cardinality(v_reasons) > 0,
        attention_reasons = v_reasons
    WHERE id = v_invoice_id;
    RETURN jsonb_build_object(
        'status', CASE WHEN cardinality(v_reasons) > 0 THEN 'flagged' ELSE 'applied' END,
        'invoice_id', v_invoice_id, 'reasons', to_jsonb(v_reasons), 'reserved', v_reserved,
        'customer_id', v_customer.customer_id, 'customer_action', v_customer.action);
END $$;
