-- The orders of one channel whose state may differ from what the channel acknowledged: never pushed, changed
-- since the last push, or a push still pending. Each comes with what the channel should show: the invoice
-- status, the waybill (the delivery note's, else the one that came with the order) and the carrier.
SELECT b.*, i.status AS invoice_status, i.cancel_reason,
       coalesce(n.waybill_number, i.tracking_number) AS waybill, n.carrier
FROM channel_bindings b
JOIN invoices i ON i.id = b.internal_id
LEFT JOIN LATERAL (
    SELECT waybill_number, carrier FROM delivery_notes WHERE invoice_id = i.id ORDER BY id DESC LIMIT 1
) n ON true
WHERE b.shop_id = :shop_id AND b.channel = :channel AND b.entity = 'order'
  AND (b.pushed_at IS NULL OR b.pending_hash IS NOT NULL OR i.updated_at >= b.pushed_at
       OR EXISTS (SELECT 1 FROM delivery_notes d WHERE d.invoice_id = i.id AND d.updated_at >= b.pushed_at))
ORDER BY b.internal_id
