-- bump_catalog_epoch: the source of truth from now on (last defined by migration 007_catalog_identity.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- An upsert: a TRUNCATE that empties catalog_epoch itself too (the seeder truncates every data table in one
-- statement) fires its AFTER TRUNCATE triggers once all the tables are empty, so the row comes back.
CREATE OR REPLACE FUNCTION bump_catalog_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_epoch (singleton, epoch) VALUES (true, gen_random_uuid())
    ON CONFLICT (singleton) DO UPDATE SET epoch = EXCLUDED.epoch, changed_at = clock_timestamp();
    RETURN NULL;
END $$;
