-- Insert-or-skip on (shop_id, external_number): returns no row when the order is already present.
INSERT INTO invoices (
    shop_id, external_number, payment_status, payment_method,
    delivery_method, delivery_city, delivery_branch, delivery_address,
    comment, order_date, reserve_until, currency, total, source_file_id
) VALUES (
    :shop_id, :external_number, :payment_status, :payment_method,
    :delivery_method, :delivery_city, :delivery_branch, :delivery_address,
    :comment, :order_date, :reserve_until, :currency, :total, :source_file_id
)
ON CONFLICT (shop_id, external_number) DO NOTHING
RETURNING id
