-- Cash on delivery the carrier paid out, once per waybill (payments_once); returns the row when it is new.
INSERT INTO payments (invoice_id, kind, amount, reference, received_at)
VALUES (:invoice_id, 'cod', :amount, :reference, :received_at)
ON CONFLICT ON CONSTRAINT payments_once DO NOTHING
RETURNING id
