-- A batch of cities as the carrier lists them now (JSON array, refs unique within the batch). Every row seen is
-- stamped with this refresh's transaction time, so the rows left with an older stamp are the ones not seen.
INSERT INTO carrier_cities AS c (carrier, ref, name, name_ru, area, kind, is_active, updated_at)
SELECT CAST(:carrier AS text), r.ref, r.name, r.name_ru, r.area, r.kind, true, now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (ref text, name text, name_ru text, area text, kind text)
ON CONFLICT (carrier, ref) DO UPDATE
SET name = excluded.name, name_ru = excluded.name_ru, area = excluded.area, kind = excluded.kind,
    is_active = true, updated_at = excluded.updated_at
RETURNING (xmax = 0) AS added
