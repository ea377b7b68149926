-- Every characteristic kind: the goods extract joins these to the characteristics' kind ids.
SELECT k.id AS kind_id, k.name, k.unit, k.slug
FROM characteristic_kinds k
ORDER BY k.id
