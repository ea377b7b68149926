-- One mapped category of an imported file: inserted, or updated when its ids differ.
INSERT INTO shop_category_map (shop_id, category_id, external_id, external_name)
VALUES (:map_key, :category_id, :external_id, :external_name)
ON CONFLICT (shop_id, category_id) DO UPDATE
    SET external_id = EXCLUDED.external_id, external_name = EXCLUDED.external_name
    WHERE (shop_category_map.external_id, shop_category_map.external_name)
          IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.external_name)
