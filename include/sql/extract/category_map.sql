-- One map of shop_category_map (a marketplace's own: `<shop's map key>/<channel>`): our category -> theirs.
SELECT category_id, external_id
FROM shop_category_map
WHERE shop_id = :map_key
ORDER BY category_id
