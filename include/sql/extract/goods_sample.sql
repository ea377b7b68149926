-- A sample of goods as the database holds them now (validation compares the feeds with it): visibility,
-- retail and old price in the shop currency, and free stock over the shop's warehouses in whole units
-- (floor, never below 0: columns.free_stock_column). One lateral lookup per good, so the free_stock view
-- aggregates only these goods' reservations; the redundant id lists on the price joins let the planner read
-- those goods' prices by key instead of the whole table (as in goods.sql).
SELECT g.id                           AS good_id,
       (g.is_active AND g.is_visible) AS visible,
       retail.price                   AS price,
       old.price                      AS old_price,
       greatest(0, floor(coalesce(f.free, 0)))::bigint AS free_stock
FROM goods g
LEFT JOIN prices retail
       ON retail.good_id = g.id AND retail.good_id = ANY(:good_ids) AND retail.currency = :currency
      AND retail.price_type_id = (SELECT id FROM price_types WHERE code = 'retail')
LEFT JOIN prices old
       ON old.good_id = g.id AND old.good_id = ANY(:good_ids) AND old.currency = :currency
      AND old.price_type_id = (SELECT id FROM price_types WHERE code = 'old')
CROSS JOIN LATERAL (
    SELECT sum(fs.free) AS free
    FROM free_stock fs
    WHERE fs.good_id = g.id AND fs.warehouse_id = ANY(:warehouse_ids)
    OFFSET 0
) f
WHERE g.id = ANY(:good_ids)
ORDER BY g.id
