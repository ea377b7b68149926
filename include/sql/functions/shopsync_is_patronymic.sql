-- shopsync_is_patronymic: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- A word that looks like a patronymic (Іванович, Олексіївна, Ивановна, Ильинична ...).
CREATE OR REPLACE FUNCTION shopsync_is_patronymic(p_token text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT length(p_token) >= 6 AND p_token ~ '(ович|евич|євич|івна|ївна|овна|евна|ічна|ична)$'
$$;
