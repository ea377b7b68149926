-- Cash on delivery shipped and not yet paid out by the carrier (returned goods owe nothing).
SELECT count(*) AS shipments, coalesce(sum(s.cod_amount), 0) AS amount
FROM shipments s
WHERE s.shop_id = :shop_id AND s.state = 'created' AND s.cod_amount > 0 AND s.cod_paid_at IS NULL
  AND coalesce(s.delivery_state, 'created') NOT IN ('refused', 'returning', 'returned', 'deleted')
