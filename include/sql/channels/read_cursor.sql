-- Where the last pull of a stream stopped (None before the first pull).
SELECT position FROM channel_cursors WHERE shop_id = :shop_id AND channel = :channel AND stream = :stream
