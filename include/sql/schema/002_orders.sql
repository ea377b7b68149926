-- shopsync schema version 2: order workflow additions.
-- Why an invoice was cancelled (set by shopsync.orders.workflow.cancel).
ALTER TABLE invoices ADD COLUMN cancel_reason text;
