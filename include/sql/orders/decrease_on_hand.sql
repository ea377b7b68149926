-- Goods left the warehouse: on hand drops by what shipped (their reservations are already 'shipped').
UPDATE stock AS s
SET on_hand = s.on_hand - shipped.quantity
FROM unnest(
    CAST(:good_ids AS integer[]),
    CAST(:warehouse_ids AS integer[]),
    CAST(:quantities AS numeric[])
) AS shipped (good_id, warehouse_id, quantity)
WHERE s.good_id = shipped.good_id AND s.warehouse_id = shipped.warehouse_id
