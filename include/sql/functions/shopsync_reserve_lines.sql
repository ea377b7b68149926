-- shopsync_reserve_lines: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
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
