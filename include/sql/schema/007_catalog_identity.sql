-- shopsync schema version 7: what the catalog export needs to notice every change that alters a feed.
--
-- 1. Change capture for the tables whose rows are copied into many goods' feed lines: renaming a
--    characteristic kind or a model group changes the offers of every good that uses it. Their changes go
--    to change_log as entities of their own; the export turns them into the goods they affect
--    (include/sql/extract/goods_of_changed_kinds.sql, goods_of_changed_model_groups.sql).
-- 2. A database epoch: one row whose random value changes whenever an accounting table is TRUNCATEd
--    (a reseed, a restore script, a careless operator). TRUNCATE fires no row or statement triggers of
--    INSERT / UPDATE / DELETE, so change_log never hears of it; the export compares the epoch (and that
--    change_log's largest id never goes backwards) with the one its snapshot was read at, and rebuilds
--    in full when they differ. A database created anew gets a new random epoch from this migration.

-- NOT VALID: the rows already there satisfied the stricter check; no scan of a large change_log.
ALTER TABLE change_log DROP CONSTRAINT change_log_entity_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_entity_check
    CHECK (entity IN ('good', 'category', 'customer', 'certificate', 'characteristic_kind', 'model_group'))
    NOT VALID;

DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN
        SELECT * FROM (VALUES
            ('characteristic_kinds', 'characteristic_kind', 'id'),
            ('model_groups', 'model_group', 'id')
        ) AS t (tbl, entity, key_column)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_ins', spec.tbl, spec.entity, spec.key_column);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_upd', spec.tbl, spec.entity, spec.key_column);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_del', spec.tbl, spec.entity, spec.key_column);
    END LOOP;
END $$;

CREATE TABLE catalog_epoch (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch       uuid        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO catalog_epoch (epoch) VALUES (gen_random_uuid());

-- An upsert: a TRUNCATE that empties catalog_epoch itself too (the seeder truncates every data table in one
-- statement) fires its AFTER TRUNCATE triggers once all the tables are empty, so the row comes back.
CREATE OR REPLACE FUNCTION bump_catalog_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_epoch (singleton, epoch) VALUES (true, gen_random_uuid())
    ON CONFLICT (singleton) DO UPDATE SET epoch = EXCLUDED.epoch, changed_at = clock_timestamp();
    RETURN NULL;
END $$;

DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY[
        'goods', 'good_characteristics', 'stock', 'prices', 'price_types', 'wholesale_tiers', 'photos',
        'reservations', 'categories', 'shop_category_map', 'characteristic_kinds', 'category_characteristics',
        'model_groups', 'warehouses', 'customers', 'customer_phones', 'gift_certificates', 'change_log'
    ]
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_epoch()', tbl || '_bump_epoch', tbl);
    END LOOP;
END $$;
