INSERT INTO invoice_lines (invoice_id, line_no, good_id, external_ref, name, quantity, ordered_price, db_price)
VALUES (:invoice_id, :line_no, :good_id, :external_ref, :name, :quantity, :ordered_price, :db_price)
