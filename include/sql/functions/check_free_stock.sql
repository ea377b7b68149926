-- check_free_stock: the source of truth from now on (last defined by migration 004_free_stock_guard_per_pair.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- shopsync schema version 4: the free-stock guard looks up only the (good, warehouse) pairs a statement
-- touched. Joined to the transition table, the planner aggregated every active reservation of the
-- database on each insert (cost growing with the reservations: 15 ms per order at 30,000); a LATERAL
-- lookup per touched pair lets it push the pair into the free_stock view (an index lookup each).
CREATE OR REPLACE FUNCTION check_free_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT f.good_id, f.warehouse_id, f.free INTO bad
    FROM (SELECT DISTINCT good_id, warehouse_id FROM touched) t
    CROSS JOIN LATERAL (
        SELECT fs.good_id, fs.warehouse_id, fs.free
        FROM free_stock fs
        WHERE fs.good_id = t.good_id AND fs.warehouse_id = t.warehouse_id
        OFFSET 0
    ) f
    WHERE f.free < 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'free stock of good % at warehouse % would be %', bad.good_id, bad.warehouse_id, bad.free
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
