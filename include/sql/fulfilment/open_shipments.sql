-- Shipments of a shop the pass still has to create (of ready invoices), or to look up after a cut-off run (whatever
-- the invoice became meanwhile), oldest first.
SELECT s.id
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.shop_id = :shop_id
  AND (s.state = 'creating' OR (s.state = 'requested' AND i.status = 'ready'))
ORDER BY s.id
