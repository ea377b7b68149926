-- shopsync_lock_stock: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
