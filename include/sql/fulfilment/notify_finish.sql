-- What became of a claimed buyer message: sent (with the time), failed (the error; attempts as counted by
-- the caller) or unknown (the connection broke while the server was taking it).
UPDATE buyer_messages
SET state = :state,
    attempts = :attempts,
    last_error = :error,
    sent_at = CASE WHEN CAST(:state AS text) = 'sent' THEN CAST(:now AS timestamptz) ELSE sent_at END,
    updated_at = clock_timestamp()
WHERE invoice_id = :invoice_id AND kind = :kind
