SELECT id, full_name, email, country, region, city, zip, np_branch, address
FROM customers
WHERE email = :email
ORDER BY is_active DESC, id
LIMIT 1
FOR NO KEY UPDATE
