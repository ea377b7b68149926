-- Customers with their discount cards, discounts and bonus balances; first phone in E.164.
SELECT c.id AS customer_id, c.full_name,
       (SELECT p.phone_e164 FROM customer_phones p
         WHERE p.customer_id = c.id ORDER BY p.created_at, p.phone_e164 LIMIT 1) AS phone,
       c.email, c.city, c.region, c.np_branch, c.address,
       c.discount_card, c.discount_percent, c.bonus_balance, c.is_active
FROM customers c
WHERE {scope:c.id}
ORDER BY c.id
