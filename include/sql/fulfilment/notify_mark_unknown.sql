-- Messages a killed run left 'sending' (run under the shop's lock, so no live run is sending them): the
-- buyer may have the mail, so they are never sent again; 'unknown' shows a person what to check.
UPDATE buyer_messages AS m
SET state = 'unknown',
    last_error = 'the run sending it stopped before the mail server''s answer was recorded: the buyer may have it',
    updated_at = clock_timestamp()
FROM invoices AS i
WHERE i.id = m.invoice_id AND i.shop_id = :shop_id AND m.state = 'sending'
RETURNING m.invoice_id, m.kind, i.external_number
