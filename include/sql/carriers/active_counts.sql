-- How many cities and branches of a carrier the directory holds as open.
SELECT (SELECT count(*) FROM carrier_cities WHERE carrier = :carrier AND is_active) AS cities,
       (SELECT count(*) FROM carrier_branches WHERE carrier = :carrier AND is_active) AS branches
