-- The order landed after all: its problem record goes.
DELETE FROM channel_order_problems WHERE shop_id = :shop_id AND channel = :channel AND external_id = :external_id
