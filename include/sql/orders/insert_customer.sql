INSERT INTO customers (full_name, email, country, region, city, zip, np_branch, address)
VALUES (:full_name, :email, :country, :region, :city, :zip, :np_branch, :address)
RETURNING id
