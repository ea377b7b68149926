UPDATE shipments
SET cod_paid_amount = :amount, cod_paid_at = :paid_at, updated_at = clock_timestamp()
WHERE id = :shipment_id AND cod_paid_at IS NULL
