-- shopsync_name_tokens: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
