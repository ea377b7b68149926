UPDATE customers SET bonus_balance = bonus_balance + :bonus WHERE id = :customer_id
