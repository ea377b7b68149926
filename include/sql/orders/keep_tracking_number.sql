-- A waybill the channel reports later for an order we already have is kept (never replaced by nothing).
UPDATE invoices SET tracking_number = CAST(:tracking_number AS text), updated_at = clock_timestamp()
WHERE id = :invoice_id AND tracking_number IS DISTINCT FROM CAST(:tracking_number AS text)
