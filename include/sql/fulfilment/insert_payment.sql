-- A receipt, once per (invoice, kind, reference): the same payment entered twice is recorded once.
INSERT INTO payments (invoice_id, kind, amount, reference)
VALUES (:invoice_id, :kind, :amount, :reference)
ON CONFLICT ON CONSTRAINT payments_once DO NOTHING
RETURNING id
