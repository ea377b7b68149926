-- Good id ranges [lo, hi] of at most :chunk goods each, in id order: a full goods extract reads one at a time.
SELECT min(id) AS lo, max(id) AS hi
FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / :chunk AS n FROM goods) g
GROUP BY n
ORDER BY n
