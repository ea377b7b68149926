-- Open cities whose Ukrainian or Russian name reads as the key given: both sides folded by the same
-- translation (carriers/directory.py: letter case, є/ї/ё/ґ variants, Latin look-alikes, apostrophes, hyphens).
SELECT c.ref, c.name, c.area, c.kind
FROM carrier_cities c
WHERE c.carrier = :carrier AND c.is_active
  AND (btrim(regexp_replace(translate(c.name, :fold_from, :fold_to), '\s+', ' ', 'g')) = :key
       OR btrim(regexp_replace(translate(coalesce(c.name_ru, ''), :fold_from, :fold_to), '\s+', ' ', 'g')) = :key)
ORDER BY c.name, c.ref
