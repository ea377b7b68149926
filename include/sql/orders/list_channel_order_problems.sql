-- Channel orders that could not land, for a person (`shopsync orders --attention`).
SELECT channel, external_id, reasons, first_seen, last_seen, times_seen
FROM channel_order_problems WHERE shop_id = :shop_id ORDER BY first_seen
