-- How many goods the database has, and how many of them a shop should show (active and visible): what
-- validation compares the feeds' counts with. One pass over goods (no child table), at validate time only.
SELECT count(*)                                        AS goods,
       count(*) FILTER (WHERE g.is_active AND g.is_visible) AS visible
FROM goods g
