-- One binding by its external id (None when the record was never bound).
SELECT * FROM channel_bindings
WHERE shop_id = :shop_id AND channel = :channel AND entity = :entity AND external_id = :external_id
