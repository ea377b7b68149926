-- Goods with their model group's name and their prices in the shop currency. {scope:g.id} limits to the
-- extract's goods; the same scope on
-- each price join is redundant for the result but lets the planner read prices by good id range (not the whole table).
SELECT g.id                             AS good_id,
       g.name, g.name_ua, g.short_name, g.description, g.description_ua,
       g.article, g.barcode, g.brand, g.country, g.collection,
       g.category_id, g.model_group_id, mg.name AS model_group_name, g.size, g.color, g.season, g.sex, g.unit,
       g.min_order_qty, g.prime_cost, g.supplier_code,
       (g.is_active AND g.is_visible)   AS visible,
       retail.price                     AS price,
       old.price                        AS old_price,
       wholesale.price                  AS wholesale_price
FROM goods g
LEFT JOIN model_groups mg ON mg.id = g.model_group_id
LEFT JOIN prices retail
       ON retail.good_id = g.id AND {scope:retail.good_id} AND retail.currency = :currency
      AND retail.price_type_id = (SELECT id FROM price_types WHERE code = 'retail')
LEFT JOIN prices old
       ON old.good_id = g.id AND {scope:old.good_id} AND old.currency = :currency
      AND old.price_type_id = (SELECT id FROM price_types WHERE code = 'old')
LEFT JOIN prices wholesale
       ON wholesale.good_id = g.id AND {scope:wholesale.good_id} AND wholesale.currency = :currency
      AND wholesale.price_type_id = (SELECT id FROM price_types WHERE code = 'wholesale')
WHERE {scope:g.id}
ORDER BY g.id
