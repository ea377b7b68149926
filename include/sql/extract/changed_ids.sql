-- Ids of one entity ('good', 'category', 'customer', 'certificate') changed in [since, until):
-- inserts, updates, deletions and deactivations alike (see change_log triggers).
SELECT DISTINCT entity_id
FROM change_log
WHERE entity = :entity
  AND changed_at >= :since
  AND changed_at < :until
ORDER BY entity_id
