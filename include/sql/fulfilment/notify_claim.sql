-- Claim a buyer message before the SMTP call (committed on its own): a new row 'sending', or a 'failed' one
-- with attempts left back to 'sending'. No row returned: it was sent, is unknown, or ran out of attempts.
INSERT INTO buyer_messages AS m (invoice_id, kind, recipient, state, attempts)
VALUES (:invoice_id, :kind, :recipient, 'sending', 1)
ON CONFLICT (invoice_id, kind) DO UPDATE
SET state = 'sending', recipient = EXCLUDED.recipient, attempts = m.attempts + 1, updated_at = clock_timestamp()
WHERE m.state = 'failed' AND m.attempts < :max_attempts
RETURNING m.attempts
