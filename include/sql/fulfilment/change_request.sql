-- `shopsync ship` again for a shipment nothing was asked of the carrier for yet: the new carrier and parcel.
UPDATE shipments SET carrier = :carrier, weight_kg = :weight_kg, seats = :seats, updated_at = clock_timestamp()
WHERE id = :shipment_id AND state = 'requested'
