SELECT id, name FROM goods WHERE id = ANY(CAST(:good_ids AS integer[]))
