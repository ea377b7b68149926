-- One binding by its internal id (None when the record is not bound to this channel).
SELECT * FROM channel_bindings
WHERE shop_id = :shop_id AND channel = :channel AND entity = :entity AND internal_id = :internal_id
