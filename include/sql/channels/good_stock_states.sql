-- What one channel should show for each good of the shop, built and hashed here, returning only the goods
-- whose state the channel has not acknowledged: never bound, a state other than the one acknowledged, or a
-- push still pending (cut off, or the channel was down). A state the channel refused as such is not
-- returned again until it changes. One result set in good id order, however many goods there are.
--
-- Candidates are the goods the shop's feeds publish (active and visible, with a retail price above 0 in the
-- shop currency: the feed rules) and every good already bound to the channel, so a good withdrawn since is
-- told once that it is gone (0, not_available).
-- The state: quantity = free stock (the free_stock view: on hand minus active reservations) summed over the
-- shop's warehouses, floored to whole units, never below 0 (as the feeds write it); price = the retail
-- price, old_price = the 'old' price only when above it (as the feeds show a promotion); presence =
-- available when published and in stock. Its hash is md5 of one canonical text ('v1|...'; a new version
-- prefix makes every good go out once again).
WITH shop_stock AS (
    SELECT good_id, sum(free) AS free
    FROM free_stock
    WHERE warehouse_id = ANY(CAST(:warehouse_ids AS integer[]))
    GROUP BY good_id
), candidates AS (
    SELECT g.id AS good_id, b.id AS binding_id, b.external_id, b.pushed_hash, b.pending_hash, b.refused_hash,
           (g.is_active AND g.is_visible AND retail.price > 0) AS published,
           round(retail.price, 2) AS price,
           CASE WHEN old.price > retail.price THEN round(old.price, 2) END AS old_price,
           greatest(floor(coalesce(s.free, 0)), 0) AS free
    FROM goods g
    LEFT JOIN channel_bindings b
           ON b.shop_id = :shop_id AND b.channel = :channel AND b.entity = 'good' AND b.internal_id = g.id
    LEFT JOIN prices retail
           ON retail.good_id = g.id AND retail.currency = :currency
          AND retail.price_type_id = (SELECT id FROM price_types WHERE code = 'retail')
    LEFT JOIN prices old
           ON old.good_id = g.id AND old.currency = :currency
          AND old.price_type_id = (SELECT id FROM price_types WHERE code = 'old')
    LEFT JOIN shop_stock s ON s.good_id = g.id
    WHERE (g.is_active AND g.is_visible AND retail.price > 0) OR b.id IS NOT NULL
), states AS (
    SELECT c.*,
           CAST(CASE WHEN c.published THEN c.free ELSE 0 END AS bigint) AS quantity,
           CASE WHEN c.published AND c.free > 0 THEN 'available' ELSE 'not_available' END AS presence
    FROM candidates c
), hashed AS (
    SELECT s.*, h.digest
    FROM states s
    CROSS JOIN LATERAL (                    -- OFFSET 0: computed once per good, not once per use below
        SELECT md5(concat_ws('|', 'v1', s.quantity, coalesce(CAST(s.price AS text), ''),
                             coalesce(CAST(s.old_price AS text), ''), s.presence)) AS digest
        OFFSET 0
    ) h
)
SELECT good_id, binding_id, external_id, quantity, price, old_price, presence, digest
FROM hashed
WHERE digest IS DISTINCT FROM refused_hash
  AND (binding_id IS NULL OR pending_hash IS NOT NULL OR digest IS DISTINCT FROM pushed_hash)
ORDER BY good_id
