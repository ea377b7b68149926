SELECT c.id, c.full_name, c.email, c.country, c.region, c.city, c.zip, c.np_branch, c.address
FROM customers AS c
JOIN customer_phones AS p ON p.customer_id = c.id
WHERE p.phone_e164 = ANY(CAST(:phones AS text[]))
ORDER BY c.is_active DESC, c.id
LIMIT 1
FOR NO KEY UPDATE OF c
