-- Goods that carry one of these characteristic kinds: a kind's name, unit or slug is copied into each
-- of their feed lines, so renaming it changes them all. Run only when a kind changed in the window.
SELECT DISTINCT gc.good_id
FROM good_characteristics gc
WHERE gc.kind_id = ANY(:kind_ids)
