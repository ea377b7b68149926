-- A shop's shipments the tracking pass still asks the carrier about: a waybill exists and the delivery is not
-- over. Final: cod_paid, returned, deleted; delivered too, unless cash on delivery is still to be paid out.
-- The phone: the one the waybill was made for (the shipment's request), else the buyer's newest.
SELECT s.id, s.invoice_id, i.external_number, s.carrier, s.waybill_number, s.return_waybill, s.delivery_state,
       s.carrier_status,
       ltrim(coalesce(s.request #>> '{recipient,phone}',
                      (SELECT p.phone_e164 FROM customer_phones AS p WHERE p.customer_id = i.customer_id
                       ORDER BY p.created_at DESC, p.phone_e164 LIMIT 1)), '+') AS phone
FROM shipments AS s
JOIN invoices AS i ON i.id = s.invoice_id
WHERE s.shop_id = :shop_id
  AND s.state = 'created'
  AND s.waybill_number IS NOT NULL
  AND (s.delivery_state IS NULL OR s.delivery_state NOT IN ('cod_paid', 'returned', 'deleted'))
  AND (s.delivery_state IS DISTINCT FROM 'delivered'
       OR (s.cod_amount > 0 AND s.cod_paid_at IS NULL AND i.payment_status = 'cod'))
ORDER BY s.carrier, s.id
