-- Every category of ours with its row in one map (null where it has none): what `categories export` writes.
SELECT c.id, c.parent_id, c.name, c.is_active, m.external_id, m.external_name
FROM categories c
LEFT JOIN shop_category_map m ON m.category_id = c.id AND m.shop_id = :map_key
ORDER BY c.id
