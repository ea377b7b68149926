-- The whole classifier (small) with the shop's mapping to its marketplace tree.
SELECT c.id, c.parent_id, c.name, c.name_ua, c.is_active, m.external_id
FROM categories c
LEFT JOIN shop_category_map m ON m.category_id = c.id AND m.shop_id = :map_key
ORDER BY c.id
