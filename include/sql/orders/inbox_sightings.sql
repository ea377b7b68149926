SELECT name, size, mtime, first_seen FROM inbox_sightings WHERE shop_id = :shop_id
