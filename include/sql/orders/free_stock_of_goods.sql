-- Free stock of several goods per warehouse, in the fixed reservation order (good, then warehouse id).
-- One lateral lookup per good: with `good_id = ANY(...)` on the view the planner would aggregate every
-- active reservation of the database instead of the few of these goods.
SELECT g.good_id, f.warehouse_id, f.free
FROM unnest(CAST(:good_ids AS integer[])) AS g (good_id)
CROSS JOIN LATERAL (
    SELECT fs.warehouse_id, fs.free
    FROM free_stock fs
    WHERE fs.good_id = g.good_id
      AND fs.warehouse_id = ANY(CAST(:warehouse_ids AS integer[]))
    OFFSET 0
) f
ORDER BY g.good_id, f.warehouse_id
