-- Goods whose article or barcode is one of the shop's references.
SELECT id, name, article, barcode
FROM goods
WHERE article = ANY(CAST(:refs AS text[])) OR barcode = ANY(CAST(:refs AS text[]))
ORDER BY id
