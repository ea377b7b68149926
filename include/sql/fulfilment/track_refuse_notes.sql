-- The buyer refused the parcel (or the branch stopped keeping it): the goods are on their way back.
UPDATE delivery_notes SET status = 'refused' WHERE invoice_id = :invoice_id AND status = 'shipped'
