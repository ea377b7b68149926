-- Deduct up to :bonus from the balance, never below zero; returns what the customer had and what was taken.
WITH before AS (
    SELECT id, bonus_balance FROM customers WHERE id = :customer_id FOR NO KEY UPDATE
)
UPDATE customers AS c
SET bonus_balance = c.bonus_balance - LEAST(before.bonus_balance, :bonus)
FROM before
WHERE c.id = before.id
RETURNING before.bonus_balance AS had, LEAST(before.bonus_balance, :bonus) AS deducted
