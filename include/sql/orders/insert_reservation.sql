INSERT INTO reservations (invoice_id, line_no, good_id, warehouse_id, quantity)
VALUES (:invoice_id, :line_no, :good_id, :warehouse_id, :quantity)
