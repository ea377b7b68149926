-- shopsync_match_customer: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
