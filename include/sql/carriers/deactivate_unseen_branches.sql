-- Branches the carrier no longer lists (closed): kept but no longer offered.
UPDATE carrier_branches SET is_active = false, updated_at = now()
WHERE carrier = :carrier AND is_active AND updated_at <> now()
