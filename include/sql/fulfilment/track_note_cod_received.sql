UPDATE delivery_notes SET cod_received = true
WHERE invoice_id = :invoice_id AND status = 'delivered' AND NOT cod_received
