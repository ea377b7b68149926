-- Reserve invoice lines up to what is free, warehouse id ascending (see shopsync_reserve_lines);
-- one row per line, in the order given, with what it got.
SELECT line_no, reserved
FROM shopsync_reserve_lines(
    CAST(:invoice_id AS bigint), CAST(:line_nos AS integer[]), CAST(:good_ids AS integer[]),
    CAST(:quantities AS numeric[]), CAST(:warehouse_ids AS integer[])
)
