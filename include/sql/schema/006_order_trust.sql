-- shopsync schema version 6: orders that arrive again with other content, customers whose name does not
-- match, and orders that land flagged (withdrawn or hidden goods, prices far below the accounting price,
-- fractional pieces, one order for a large share of a good's free stock). The rules: docs/decisions.md,
-- "Orders: conflicting resends, customer identity, flags"; what an operator sees: docs/operations.md.
--
-- The functions of schema 5 that change are redefined here with CREATE OR REPLACE and the same signatures
-- (the customer step with reasons is the new shopsync_match_customer; shopsync_upsert_customer keeps its
-- signature and calls it). Like 005, running this file again changes nothing.

-- What an invoice was created from: the canonical content of the order (shopsync.orders.content) and its
-- sha256. NULL on invoices applied before this version: a resend of those is skipped as before.
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS content_digest text, ADD COLUMN IF NOT EXISTS content jsonb;
-- Orders of a file that were sent again with other content (beside applied, skipped, flagged, rejected).
ALTER TABLE order_files ADD COLUMN IF NOT EXISTS conflicts integer NOT NULL DEFAULT 0;

-- An order number that arrived again with other content: the invoice keeps the first version, the new one
-- is kept here until a person resolves it (`shopsync orders --shop <id> --resolve-conflict <id>`).
-- One row per (invoice, version): the same new version arriving again counts times_seen up.
CREATE TABLE IF NOT EXISTS order_conflicts (
    id                bigserial PRIMARY KEY,
    shop_id           text    NOT NULL,
    external_number   text    NOT NULL,
    invoice_id        bigint  NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    first_digest      text    NOT NULL,
    first_content     jsonb   NOT NULL,
    new_digest        text    NOT NULL,
    new_content       jsonb   NOT NULL,
    differs           text[]  NOT NULL,              -- top-level parts of the content that differ
    source_file_id    bigint  REFERENCES order_files (id),   -- the file the new version came in (latest)
    times_seen        integer NOT NULL DEFAULT 1,
    attention_reason  text    NOT NULL,              -- the line added to the invoice's attention_reasons
    resolved          boolean NOT NULL DEFAULT false,
    resolved_at       timestamptz,
    resolution        text,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT order_conflicts_one_per_version UNIQUE (invoice_id, new_digest)
);
CREATE INDEX IF NOT EXISTS order_conflicts_open ON order_conflicts (shop_id, id) WHERE NOT resolved;
CREATE OR REPLACE TRIGGER order_conflicts_updated_at BEFORE UPDATE ON order_conflicts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A person's name as a sorted set of words to compare: letter case, apostrophes (' ’ ʼ ` ‘), Latin letters
-- that look like Cyrillic ones (a c e i o p x y, and b h k m t as in В Н К М Т), ё/е, hyphens,
-- punctuation and extra spaces (a no-break space too) make no difference. Cyrillic capitals are lowered by
-- translate(), not lower(), so the result does not depend on the database's locale.
CREATE OR REPLACE FUNCTION shopsync_name_tokens(p_name text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT t.token ORDER BY t.token), '{}')
    FROM regexp_split_to_table(
             translate(
                 lower(translate(coalesce(p_name, ''),
                                 'АБВГҐДЕЄЁЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
                                 'абвгґдеєёжзиіїйклмнопрстуфхцчшщъыьэюя')),
                 'abcehikmoptxyïëё' || U&'\00A0' || '''’ʼ`‘ʹ′',
                 'авсенікмортхуїее '),
             '[[:space:][:punct:] ‐‑‒–—]+') AS t (token)
    WHERE t.token <> ''
$$;

-- A word that looks like a patronymic (Іванович, Олексіївна, Ивановна, Ильинична ...).
CREATE OR REPLACE FUNCTION shopsync_is_patronymic(p_token text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT length(p_token) >= 6 AND p_token ~ '(ович|евич|євич|івна|ївна|овна|евна|ічна|ична)$'
$$;

-- Whether two names are the same person's: the same words (in any order, see shopsync_name_tokens), or the
-- same at least two words plus one patronymic on one side only. A first name alone, initials, or another
-- patronymic do not agree. Symmetric.
CREATE OR REPLACE FUNCTION shopsync_names_agree(p_one text, p_other text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v_larger  text[] := shopsync_name_tokens(p_one);
    v_smaller text[] := shopsync_name_tokens(p_other);
    v_swap    text[];
BEGIN
    IF v_larger = v_smaller THEN
        RETURN true;
    END IF;
    IF cardinality(v_larger) < cardinality(v_smaller) THEN
        v_swap := v_larger;
        v_larger := v_smaller;
        v_smaller := v_swap;
    END IF;
    RETURN cardinality(v_smaller) >= 2
       AND cardinality(v_larger) = cardinality(v_smaller) + 1
       AND v_smaller <@ v_larger
       AND (SELECT bool_and(shopsync_is_patronymic(w)) FROM unnest(v_larger) AS w WHERE w <> ALL(v_smaller));
END $$;

-- Whether a good sold in this unit comes in whole pieces (goods.unit, default 'шт'): a fractional quantity
-- of it flags the order. Units of weight, length or volume (кг, м, л ...) and unknown units are divisible.
CREATE OR REPLACE FUNCTION shopsync_is_piece_unit(p_unit text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT rtrim(lower(btrim(coalesce(p_unit, ''))), '.') IN (
        'шт', 'штук', 'штука', 'пар', 'пара', 'компл', 'комплект', 'уп', 'упак', 'упаковка',
        'pcs', 'pc', 'piece', 'pair', 'set', 'ea')
$$;

-- Find the order's customer and update them, or create them (shopsync_upsert_customer of schema 5, now with
-- reasons); as in schema 5 (phones first, then the
-- e-mail, advisory locks on both, empty fields never wipe what is known, the name only filled in when none
-- is stored), with the identity rule of schema 6:
-- * a customer found by phone or e-mail is the order's customer only when the names agree
--   (shopsync_names_agree) or the customer has no name yet; among several with that phone or e-mail the
--   first that agrees (active first, then the oldest). When none agrees a new customer is created (with the
--   order's phones) and `reasons` says whose phone / e-mail it was: the found customer's e-mail, address,
--   discount and bonus are untouched.
-- * an e-mail that belongs to another customer is never copied onto the matched customer, nor stored on a
--   new one (an e-mail names one customer); `reasons` says so.
-- reasons: what a person should look at (the order is flagged with them).
CREATE OR REPLACE FUNCTION shopsync_match_customer(
    p_customer jsonb, OUT customer_id bigint, OUT action text, OUT reasons text[]
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_problem     text := shopsync_customer_document_problem(p_customer);
    v_email       text := p_customer->>'email';
    v_name        text := coalesce(p_customer->>'full_name', '');
    v_phones      text[];
    v_phone       text;
    v_candidate   record;
    v_best_id     bigint;
    v_best_active boolean;
    v_owner_id    bigint;        -- the first customer found whose name does not agree
    v_owner_name  text;
    v_owner_by    text;          -- 'phone +380...' / 'e-mail ...'
    v_taken_by    bigint;        -- another customer holding the order's e-mail
    v_found       customers%ROWTYPE;
    v_merged      customers%ROWTYPE;
    v_id          bigint;
    v_action      text;
    v_added       integer := 0;
    v_reasons     text[] := '{}';
BEGIN
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'shopsync_upsert_customer: %', v_problem USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_phones := translate(jsonb_path_query_array(p_customer, '$.phones[*].e164')::text, '[]', '{}')::text[];
    -- 7420002: the first key of the project's two-key advisory locks on customers (as in schema 5).
    PERFORM pg_advisory_xact_lock(7420002, hashtext(keys.k))
    FROM (
        SELECT k FROM (
            SELECT 'phone:' || ph AS k FROM unnest(v_phones) AS ph
            UNION
            SELECT 'email:' || v_email WHERE v_email IS NOT NULL
        ) AS sorted_keys
        ORDER BY k COLLATE "C"
    ) AS keys;

    -- By phone, one index lookup per phone (see schema 5 on generic plans).
    FOREACH v_phone IN ARRAY v_phones LOOP
        FOR v_candidate IN
            SELECT c.id, c.is_active, c.full_name
            FROM customer_phones AS p
            JOIN customers AS c ON c.id = p.customer_id
            WHERE p.phone_e164 = v_phone
            ORDER BY c.is_active DESC, c.id
        LOOP
            IF cardinality(shopsync_name_tokens(v_candidate.full_name)) = 0
               OR shopsync_names_agree(v_candidate.full_name, v_name) THEN
                IF v_best_id IS NULL OR (v_candidate.is_active, -v_candidate.id) > (v_best_active, -v_best_id) THEN
                    v_best_id := v_candidate.id;
                    v_best_active := v_candidate.is_active;
                END IF;
                EXIT;
            ELSIF v_owner_id IS NULL THEN
                v_owner_id := v_candidate.id;
                v_owner_name := v_candidate.full_name;
                v_owner_by := 'phone ' || v_phone;
            END IF;
        END LOOP;
    END LOOP;
    IF v_best_id IS NULL AND v_email IS NOT NULL THEN
        FOR v_candidate IN
            SELECT c.id, c.is_active, c.full_name FROM customers AS c WHERE c.email = v_email
            ORDER BY c.is_active DESC, c.id
        LOOP
            IF cardinality(shopsync_name_tokens(v_candidate.full_name)) = 0
               OR shopsync_names_agree(v_candidate.full_name, v_name) THEN
                v_best_id := v_candidate.id;
                EXIT;
            ELSIF v_owner_id IS NULL THEN
                v_owner_id := v_candidate.id;
                v_owner_name := v_candidate.full_name;
                v_owner_by := 'e-mail ' || v_email;
            END IF;
        END LOOP;
    END IF;
    IF v_best_id IS NOT NULL THEN
        SELECT c.* INTO v_found FROM customers AS c WHERE c.id = v_best_id FOR NO KEY UPDATE;
    END IF;
    IF v_email IS NOT NULL THEN
        SELECT c.id INTO v_taken_by FROM customers AS c
        WHERE c.email = v_email AND c.id IS DISTINCT FROM v_best_id
        ORDER BY c.is_active DESC, c.id
        LIMIT 1;
    END IF;

    IF v_found.id IS NULL THEN
        INSERT INTO customers (full_name, email, country, region, city, zip, np_branch, address)
        VALUES (v_name, CASE WHEN v_taken_by IS NULL THEN v_email END, p_customer->>'country',
                p_customer->>'region', p_customer->>'city', p_customer->>'zip', p_customer->>'np_branch',
                p_customer->>'address')
        RETURNING id INTO v_id;
        v_action := 'created';
        IF v_owner_id IS NOT NULL THEN
            v_reasons := v_reasons || format(
                'customer: %s belongs to customer %s «%s», not to «%s»: a new customer %s was created '
                '(the order does not use the other customer''s bonus or data); check whether it is the same person',
                v_owner_by, v_owner_id, v_owner_name, v_name, v_id);
        END IF;
        IF v_taken_by IS NOT NULL AND v_owner_by IS DISTINCT FROM 'e-mail ' || v_email THEN
            v_reasons := v_reasons || format(
                'customer: e-mail %s belongs to customer %s: not stored on the new customer %s', v_email, v_taken_by, v_id);
        END IF;
    ELSE
        v_id := v_found.id;
        v_merged := v_found;
        IF cardinality(shopsync_name_tokens(v_found.full_name)) = 0 THEN
            v_merged.full_name := v_name;
        END IF;
        IF v_taken_by IS NULL THEN
            v_merged.email := coalesce(v_email, v_found.email);
        ELSIF v_email IS DISTINCT FROM v_found.email THEN
            v_reasons := v_reasons || format(
                'customer: e-mail %s belongs to customer %s: not copied onto customer %s', v_email, v_taken_by, v_id);
        END IF;
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
    reasons := v_reasons;
END $$;

-- Schema 5's entry point, same signature: the customer step of schema 6 without its reasons.
CREATE OR REPLACE FUNCTION shopsync_upsert_customer(p_customer jsonb, OUT customer_id bigint, OUT action text)
LANGUAGE sql AS $$
    SELECT m.customer_id, m.action FROM shopsync_match_customer(p_customer) AS m
$$;

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

-- Apply one order in the caller's transaction; returns
--   {"status": "applied"|"flagged"|"skipped"|"conflict", "invoice_id": int, "reasons": [text, ...],
--    "reserved": [[good_id, "quantity"], ...] (reserved now, per good, in line order),
--    "customer_id": int|null, "customer_action": "created"|"updated"|"unchanged"|null,
--    "conflict_id": int|null}.
-- Steps: invoice insert-or-skip; an order already present is "skipped" when its content digest is the one
-- stored with the invoice (or the invoice has none, or this version's conflict was resolved), else a
-- "conflict": recorded in order_conflicts with both versions, the invoice flagged, nothing else touched.
-- Then customer (shopsync_match_customer: its reasons flag the order); lines with the ordered and the
-- retail price, each checked (withdrawn / hidden good, price below checks.min_price_share of the retail
-- price, fractional quantity of a piece good: flagged, still reserved); reservation of every line (none at
-- all when a line has problems; none of a good when the order asks for more than
-- checks.max_free_stock_share of its free stock and more than checks.share_min_quantity units; what is
-- free when stock is short); gift certificates; bonus payment; the invoice's status and attention reasons.
-- A malformed document raises invalid_parameter_value.
CREATE OR REPLACE FUNCTION shopsync_apply_order(p_order jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_problem     text := coalesce(shopsync_order_document_problem(p_order), shopsync_order_checks_problem(p_order));
    v_invoice     jsonb := p_order->'invoice';
    v_shop        text := p_order->>'shop_id';
    v_number      text := p_order->>'external_number';
    v_content     jsonb := nullif(p_order->'content', 'null');
    v_digest      text := p_order->>'content_digest';
    v_price_share numeric := coalesce((p_order->'checks'->>'min_price_share')::numeric, 0.5);
    v_stock_share numeric := coalesce((p_order->'checks'->>'max_free_stock_share')::numeric, 0.5);
    v_share_min   numeric := coalesce((p_order->'checks'->>'share_min_quantity')::numeric, 10);
    v_today       date;
    v_warehouses  integer[];
    v_currency    char(3);
    v_invoice_id  bigint;
    v_existing    record;
    v_conflict    record;
    v_conflict_id bigint;
    v_differs     text[];
    v_file        text;
    v_customer    record;
    v_reasons     text[];
    v_lines       integer;
    v_usable      boolean;
    v_line_nos    integer[];
    v_good_ids    integer[];
    v_quantities  numeric[];
    v_names       text[];
    v_held        integer[] := '{}';
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
        comment, order_date, reserve_until, currency, total, source_file_id, content_digest, content
    ) VALUES (
        v_shop, v_number, v_invoice->>'payment_status', v_invoice->>'payment_method',
        v_invoice->>'delivery_method', v_invoice->>'delivery_city', v_invoice->>'delivery_branch',
        v_invoice->>'delivery_address', v_invoice->>'comment', (v_invoice->>'order_date')::timestamptz,
        (v_invoice->>'reserve_until')::date, v_invoice->>'currency', (v_invoice->>'total')::numeric,
        (p_order->>'source_file_id')::bigint, v_digest, v_content
    )
    ON CONFLICT (shop_id, external_number) DO NOTHING
    RETURNING id INTO v_invoice_id;
    IF v_invoice_id IS NULL THEN
        SELECT id, content_digest, content INTO v_existing
        FROM invoices WHERE shop_id = v_shop AND external_number = v_number;
        IF v_existing.content_digest IS NULL OR v_digest IS NULL OR v_existing.content_digest = v_digest THEN
            RETURN jsonb_build_object(
                'status', 'skipped', 'invoice_id', v_existing.id,
                'reasons', jsonb_build_array(format('order %s is already invoice %s', v_number, v_existing.id)),
                'reserved', '[]'::jsonb, 'customer_id', NULL, 'customer_action', NULL, 'conflict_id', NULL);
        END IF;
        -- 1a. The same number with other content: the first version stays, the new one is recorded.
        v_differs := ARRAY(
            SELECT coalesce(n.key, o.key)
            FROM jsonb_each(v_content) AS n
            FULL JOIN jsonb_each(v_existing.content) AS o ON o.key = n.key
            WHERE n.value IS DISTINCT FROM o.value
            ORDER BY 1);
        SELECT file_name INTO v_file FROM order_files WHERE id = (p_order->>'source_file_id')::bigint;
        v_conflict_id := nextval(pg_get_serial_sequence('order_conflicts', 'id'));
        INSERT INTO order_conflicts AS c (
            id, shop_id, external_number, invoice_id, first_digest, first_content, new_digest, new_content,
            differs, source_file_id, attention_reason
        ) VALUES (
            v_conflict_id, v_shop, v_number, v_existing.id, v_existing.content_digest, v_existing.content, v_digest,
            v_content, v_differs, (p_order->>'source_file_id')::bigint,
            format('order %s was sent again%s with different %s: conflict %s; the invoice keeps the first version',
                   v_number, coalesce(' in ' || v_file, ''), array_to_string(v_differs, ', '), v_conflict_id)
        )
        ON CONFLICT (invoice_id, new_digest) DO UPDATE
        SET times_seen = c.times_seen + 1, source_file_id = coalesce(excluded.source_file_id, c.source_file_id)
        RETURNING c.id, c.resolved, c.attention_reason, (c.xmax = 0) AS inserted INTO v_conflict;
        IF v_conflict.inserted THEN
            UPDATE invoices
            SET needs_attention = true, attention_reasons = attention_reasons || v_conflict.attention_reason
            WHERE id = v_existing.id;
        END IF;
        IF v_conflict.resolved THEN
            RETURN jsonb_build_object(
                'status', 'skipped', 'invoice_id', v_existing.id,
                'reasons', jsonb_build_array(format('order %s is already invoice %s; this version was conflict %s, '
                                                    'resolved', v_number, v_existing.id, v_conflict.id)),
                'reserved', '[]'::jsonb, 'customer_id', NULL, 'customer_action', NULL, 'conflict_id', v_conflict.id);
        END IF;
        RETURN jsonb_build_object(
            'status', 'conflict', 'invoice_id', v_existing.id,
            'reasons', jsonb_build_array(v_conflict.attention_reason),
            'reserved', '[]'::jsonb, 'customer_id', NULL, 'customer_action', NULL, 'conflict_id', v_conflict.id);
    END IF;
    v_currency := v_invoice->>'currency';

    -- 2. The customer.
    v_customer := shopsync_match_customer(p_order->'customer');
    IF jsonb_array_length(p_order->'reasons') = 0 THEN
        v_reasons := '{}';
    ELSE
        v_reasons := ARRAY(SELECT jsonb_array_elements_text(p_order->'reasons'));
    END IF;
    v_reasons := v_reasons || v_customer.reasons;

    -- 3. The lines: each good by our id when it exists, else by article / barcode (the first reference that
    -- matches anything decides); the retail price in the order's currency; problems (nothing is reserved)
    -- and warnings (flagged, reserved as usual).
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
               p.price AS db_price,
               format('line %s (%s%s)', r.line_no, r.external_ref,
                      coalesce(' «' || coalesce(nullif(r.good_name, ''), r.name) || '»', '')) AS label,
               array_remove(ARRAY[
                   CASE WHEN NOT g.is_active THEN 'the good is withdrawn from sale' END,
                   CASE WHEN NOT g.is_visible THEN 'the good is hidden on the sites' END,
                   CASE WHEN cardinality(r.problems) = 0 AND r.price < p.price * v_price_share
                        THEN format('price %s is below %s %% of the accounting price %s', trim_scale(r.price),
                                    trim_scale(v_price_share * 100), trim_scale(p.price)) END,
                   CASE WHEN cardinality(r.problems) = 0 AND shopsync_is_piece_unit(g.unit)
                             AND r.quantity <> trunc(r.quantity)
                        THEN format('quantity %s is not a whole number of a good sold by the piece (unit «%s»)',
                                    trim_scale(r.quantity), g.unit) END
               ], NULL) AS warnings
        FROM resolved r
        -- one index lookup per line (OFFSET 0 keeps them lookups): joined on the computed good id, the
        -- session's generic plan hashed all of goods and prices for every order
        LEFT JOIN LATERAL (SELECT x.is_active, x.is_visible, x.unit FROM goods x WHERE x.id = r.good_id OFFSET 0) AS g
            ON true
        LEFT JOIN LATERAL (SELECT x.price FROM prices x
                           WHERE x.good_id = r.good_id AND x.price_type_id = 1 AND x.currency = v_currency
                           OFFSET 0) AS p ON true
    ), inserted AS (
        INSERT INTO invoice_lines (invoice_id, line_no, good_id, external_ref, name, quantity, ordered_price, db_price)
        SELECT v_invoice_id, r.line_no, r.good_id, r.external_ref, coalesce(r.name, r.good_name), r.quantity,
               r.price, r.db_price
        FROM labelled r
    )
    SELECT count(*),
           coalesce(bool_and(cardinality(r.problems) = 0), false),
           array_agg(r.line_no ORDER BY r.line_no),
           array_agg(r.good_id ORDER BY r.line_no),
           array_agg(r.quantity ORDER BY r.line_no),
           array_agg(r.good_name ORDER BY r.line_no),
           ARRAY(SELECT x.label || ': ' || pr.problem
                 FROM labelled x, unnest(x.problems || x.warnings) WITH ORDINALITY AS pr (problem, ord)
                 ORDER BY x.line_no, pr.ord)
    INTO v_lines, v_usable, v_line_nos, v_good_ids, v_quantities, v_names, v_more
    FROM labelled r;
    v_reasons := v_reasons || v_more;

    -- 4. Reservations: all lines or none; a good this order wants too large a share of is held back first.
    IF v_lines = 0 THEN
        v_reasons := v_reasons || 'the order has no lines'::text;
    ELSIF NOT v_usable THEN
        v_reasons := v_reasons || 'nothing reserved: the order has lines that need attention'::text;
    ELSE
        -- free stock is read with the rows locked, before this order reserves any of it
        PERFORM shopsync_lock_stock(v_good_ids, v_warehouses);
        WITH wanted AS (
            SELECT u.good_id, sum(u.quantity) AS quantity, min(u.ord) AS first, min(u.name) AS name
            FROM unnest(v_good_ids, v_quantities, v_names) WITH ORDINALITY AS u (good_id, quantity, name, ord)
            GROUP BY u.good_id
        ), held AS (
            SELECT w.*, coalesce(f.free, 0) AS free
            FROM wanted w
            CROSS JOIN LATERAL (
                SELECT sum(fs.free) AS free FROM free_stock fs
                WHERE fs.good_id = w.good_id AND fs.warehouse_id = ANY(v_warehouses) AND fs.free > 0
                OFFSET 0
            ) AS f
            WHERE w.quantity > v_share_min AND w.quantity > coalesce(f.free, 0) * v_stock_share
        )
        SELECT coalesce(array_agg(h.good_id ORDER BY h.first), '{}'),
               coalesce(array_agg(format('good %s «%s»: ordered %s, more than %s %% of the %s free — nothing '
                                         'reserved until a person confirms the order', h.good_id, h.name,
                                         trim_scale(h.quantity), trim_scale(v_stock_share * 100),
                                         trim_scale(h.free)) ORDER BY h.first), '{}')
        INTO v_held, v_more
        FROM held h;
        v_reasons := v_reasons || v_more;
        IF cardinality(v_held) > 0 THEN
            SELECT coalesce(array_agg(u.line_no ORDER BY u.ord), '{}'), coalesce(array_agg(u.good_id ORDER BY u.ord), '{}'),
                   coalesce(array_agg(u.quantity ORDER BY u.ord), '{}'), coalesce(array_agg(u.name ORDER BY u.ord), '{}')
            INTO v_line_nos, v_good_ids, v_quantities, v_names
            FROM unnest(v_line_nos, v_good_ids, v_quantities, v_names) WITH ORDINALITY AS u (line_no, good_id, quantity, name, ord)
            WHERE u.good_id <> ALL(v_held);
        END IF;
        IF cardinality(v_line_nos) > 0 THEN
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
            v_reasons := v_reasons || v_more;
        ELSE
            v_more := '{}';
        END IF;
        v_fully := cardinality(v_more) = 0 AND cardinality(v_held) = 0;
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
        'customer_id', v_customer.customer_id, 'customer_action', v_customer.action, 'conflict_id', NULL);
END $$;
