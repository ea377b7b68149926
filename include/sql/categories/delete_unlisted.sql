-- A map's rows for the categories the imported file leaves unmapped.
DELETE FROM shop_category_map
WHERE shop_id = :map_key AND NOT (category_id = ANY (CAST(:mapped AS integer[])))
