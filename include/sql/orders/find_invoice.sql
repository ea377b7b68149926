SELECT id FROM invoices WHERE shop_id = :shop_id AND external_number = :external_number
