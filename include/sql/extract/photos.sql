-- Original photos of the extract's goods, in display order.
SELECT p.good_id, p.position, p.original_path, p.checksum
FROM photos p
WHERE {scope:p.good_id}
ORDER BY p.good_id, p.position
