-- A shop's order numbers sent again with other content that no person has resolved yet, oldest first.
SELECT c.id, c.external_number, c.invoice_id, c.differs, c.times_seen, c.created_at, c.updated_at,
       f.file_name
FROM order_conflicts AS c
LEFT JOIN order_files AS f ON f.id = c.source_file_id
WHERE c.shop_id = :shop_id AND NOT c.resolved
ORDER BY c.id
