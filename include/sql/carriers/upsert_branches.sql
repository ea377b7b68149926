-- A batch of branches as the carrier lists them now (JSON array, refs unique within the batch); stamped like
-- the cities (upsert_cities.sql).
INSERT INTO carrier_branches AS b (carrier, ref, city_ref, number, kind, description, address, postcode,
                                   max_weight_kg, is_active, updated_at)
SELECT CAST(:carrier AS text), r.ref, r.city_ref, r.number, r.kind, r.description, r.address, r.postcode,
       r.max_weight_kg, true, now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (ref text, city_ref text, number text, kind text,
                                                    description text, address text, postcode text,
                                                    max_weight_kg numeric)
ON CONFLICT (carrier, ref) DO UPDATE
SET city_ref = excluded.city_ref, number = excluded.number, kind = excluded.kind,
    description = excluded.description, address = excluded.address, postcode = excluded.postcode,
    max_weight_kg = excluded.max_weight_kg, is_active = true, updated_at = excluded.updated_at
RETURNING (xmax = 0) AS added
