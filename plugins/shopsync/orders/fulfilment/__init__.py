"""The order's life after the reservation: shipment, waybill, tracking, cash on delivery, returns, buyer mail."""
