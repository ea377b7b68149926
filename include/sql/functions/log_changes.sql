-- log_changes: the source of truth from now on (last defined by migration 005_apply_order_function.sql); `shopsync db init`
-- applies it with CREATE OR REPLACE after the numbered migrations (shopsync.core.schema.apply_functions).
-- Change capture (schema version 1) without a dynamic statement for inserts and updates: the same rows in
-- change_log, but the INSERT is planned once per trigger instead of parsed and planned at every firing
-- (an order fires it three to four times: customer, phones, reservations). Key columns other than these
-- three, and deletions, keep the dynamic form.
CREATE OR REPLACE FUNCTION log_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity_name text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    op_code     char(1) := left(TG_OP, 1);
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM old_rows', entity_name, key_column, op_code);
    ELSIF key_column = 'id' THEN
        INSERT INTO change_log (entity, entity_id, op) SELECT DISTINCT entity_name, n.id, op_code FROM new_rows n;
    ELSIF key_column = 'good_id' THEN
        INSERT INTO change_log (entity, entity_id, op)
        SELECT DISTINCT entity_name, n.good_id, op_code FROM new_rows n;
    ELSIF key_column = 'customer_id' THEN
        INSERT INTO change_log (entity, entity_id, op)
        SELECT DISTINCT entity_name, n.customer_id, op_code FROM new_rows n;
    ELSE
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM new_rows', entity_name, key_column, op_code);
    END IF;
    RETURN NULL;
END $$;
