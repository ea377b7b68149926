-- Cities the carrier no longer lists: kept (old invoices name them) but no longer offered.
UPDATE carrier_cities SET is_active = false, updated_at = now()
WHERE carrier = :carrier AND is_active AND updated_at <> now()
