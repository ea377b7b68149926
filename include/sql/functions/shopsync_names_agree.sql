-- shopsync_names_agree: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
