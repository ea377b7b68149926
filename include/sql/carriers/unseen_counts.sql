-- Open rows this refresh has not seen (their stamp is older than this transaction): what it would close.
SELECT (SELECT count(*) FROM carrier_cities
        WHERE carrier = :carrier AND is_active AND updated_at <> now()) AS cities,
       (SELECT count(*) FROM carrier_branches
        WHERE carrier = :carrier AND is_active AND updated_at <> now()) AS branches
