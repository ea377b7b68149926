-- Wholesale price tiers (from min_qty units, price per unit) in the shop currency.
SELECT t.good_id, t.min_qty, t.price
FROM wholesale_tiers t
WHERE t.currency = :currency
  AND {scope:t.good_id}
ORDER BY t.good_id, t.min_qty
