-- A 'requested' shipment for each ready invoice of the shop that has no live one (or for one invoice); its client
-- key (our marker on the carrier's document) names the shop, the order number and the new row's own id.
INSERT INTO shipments (id, shop_id, invoice_id, carrier, client_key, weight_kg, seats)
SELECT t.id, t.shop_id, t.invoice_id, :carrier, t.shop_id || '-' || t.external_number || '-' || t.id,
       :weight_kg, :seats
FROM (
    SELECT nextval(pg_get_serial_sequence('shipments', 'id')) AS id, i.shop_id, i.id AS invoice_id, i.external_number
    FROM invoices AS i
    WHERE i.shop_id = :shop_id AND i.status = 'ready'
      AND (CAST(:invoice_id AS bigint) IS NULL OR i.id = CAST(:invoice_id AS bigint))
      AND NOT EXISTS (SELECT 1 FROM shipments AS s WHERE s.invoice_id = i.id AND s.state <> 'cancelled')
    ORDER BY i.id
) AS t
ON CONFLICT DO NOTHING
RETURNING id
