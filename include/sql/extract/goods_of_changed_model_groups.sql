-- Goods of these model groups (the group's name is the WooCommerce parent product's name).
SELECT g.id AS good_id
FROM goods g
WHERE g.model_group_id = ANY(:model_group_ids)
