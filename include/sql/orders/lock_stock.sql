-- Lock the stock rows of these goods at these warehouses, always in (good_id, warehouse_id) order:
-- every transaction that reserves or ships takes its locks in the same order, so none can deadlock another.
SELECT shopsync_lock_stock(CAST(:good_ids AS integer[]), CAST(:warehouse_ids AS integer[]))
