-- Apply one order (the normalised JSON document of shopsync.orders.apply.order_document) in one call;
-- returns what happened as JSON text. The steps are in include/sql/schema/005_apply_order_function.sql.
SELECT CAST(shopsync_apply_order(CAST(:document AS jsonb)) AS text)
