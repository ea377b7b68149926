-- Shipments of a shop the pass still has to create (or look up after a cut-off run), oldest first.
SELECT s.id
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.shop_id = :shop_id AND s.state IN ('requested', 'creating') AND i.status = 'ready'
ORDER BY s.id
