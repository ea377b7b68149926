-- Characteristics of the extract's goods, in a stable order (kind id within a good). Only the kind's id travels:
-- its name, unit and slug are joined on the client from characteristic_kinds.sql (a few hundred rows), which
-- halves the database's CPU and the bytes of the largest stream (2.1 M rows for 100k goods; bench/).
SELECT gc.good_id, gc.kind_id, gc.value, gc.unit
FROM good_characteristics gc
WHERE {scope:gc.good_id}
ORDER BY gc.good_id, gc.kind_id
