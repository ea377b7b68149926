-- The carrier's id of the branch the buyer chose (Prom's recipient_warehouse_id), as the channel reports it now:
-- carriers/directory.py resolves it before the branch text. Never replaced by nothing.
UPDATE invoices SET delivery_branch_ref = CAST(:branch_ref AS text), updated_at = clock_timestamp()
WHERE id = :invoice_id AND delivery_branch_ref IS DISTINCT FROM CAST(:branch_ref AS text)
