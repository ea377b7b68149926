-- The invoice of an order number of this shop (the order was there before: insert-or-skip found it).
SELECT id, status FROM invoices WHERE shop_id = :shop_id AND external_number = :external_number
