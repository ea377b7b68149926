-- Characteristics of the extract's goods, in a stable order (kind id within a good).
SELECT gc.good_id, k.name, gc.value, COALESCE(gc.unit, k.unit) AS unit, k.slug
FROM good_characteristics gc
JOIN characteristic_kinds k ON k.id = gc.kind_id
WHERE {scope:gc.good_id}
ORDER BY gc.good_id, k.id
