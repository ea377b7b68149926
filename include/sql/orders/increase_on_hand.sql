-- Goods came back to the warehouse (a returned parcel): on hand grows by them. A stock row removed since the
-- goods shipped is created again; the caller has locked the existing rows in (good_id, warehouse_id) order.
INSERT INTO stock (good_id, warehouse_id, on_hand)
SELECT returned.good_id, returned.warehouse_id, returned.quantity
FROM unnest(
    CAST(:good_ids AS integer[]),
    CAST(:warehouse_ids AS integer[]),
    CAST(:quantities AS numeric[])
) AS returned (good_id, warehouse_id, quantity)
ORDER BY returned.good_id, returned.warehouse_id
ON CONFLICT (good_id, warehouse_id) DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand
