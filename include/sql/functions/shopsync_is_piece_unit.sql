-- shopsync_is_piece_unit: the source of truth from now on (last defined by migration 006_order_trust.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- Whether a good sold in this unit comes in whole pieces (goods.unit, default 'шт'): a fractional quantity
-- of it flags the order. Units of weight, length or volume (кг, м, л ...) and unknown units are divisible.
CREATE OR REPLACE FUNCTION shopsync_is_piece_unit(p_unit text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT rtrim(lower(btrim(coalesce(p_unit, ''))), '.') IN (
        'шт', 'штук', 'штука', 'пар', 'пара', 'компл', 'комплект', 'уп', 'упак', 'упаковка',
        'pcs', 'pc', 'piece', 'pair', 'set', 'ea')
$$;
