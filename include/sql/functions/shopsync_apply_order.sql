-- shopsync_apply_order: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
        comment, order_date, reserve_until, currency, total, source_file_id, content_digest, content,
        tracking_number
    ) VALUES (
        v_shop, v_number, v_invoice->>'payment_status', v_invoice->>'payment_method',
        v_invoice->>'delivery_method', v_invoice->>'delivery_city', v_invoice->>'delivery_branch',
        v_invoice->>'delivery_address', v_invoice->>'comment', (v_invoice->>'order_date')::timestamptz,
        (v_invoice->>'reserve_until')::date, v_invoice->>'currency', (v_invoice->>'total')::numeric,
        (p_order->>'source_file_id')::bigint, v_digest, v_content, nullif(v_invoice->>'tracking_number', '')
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
