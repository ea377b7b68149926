UPDATE customers
SET full_name = :full_name, email = :email, country = :country, region = :region,
    city = :city, zip = :zip, np_branch = :np_branch, address = :address
WHERE id = :id
