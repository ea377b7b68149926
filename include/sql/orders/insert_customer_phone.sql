INSERT INTO customer_phones (customer_id, phone_raw, phone_e164)
VALUES (:customer_id, :phone_raw, :phone_e164)
ON CONFLICT (customer_id, phone_e164) DO NOTHING
RETURNING phone_e164
