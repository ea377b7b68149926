-- Files no longer in the inbox (processed, or removed by the shop) need no sighting.
DELETE FROM inbox_sightings WHERE shop_id = :shop_id AND NOT (name = ANY(:names))
