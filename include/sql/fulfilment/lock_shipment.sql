SELECT id, state, waybill_number FROM shipments WHERE id = :shipment_id FOR UPDATE
