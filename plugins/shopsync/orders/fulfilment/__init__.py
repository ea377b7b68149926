"""An order's life after the reservation: shipping (waybills exactly once), tracking, buyer messages."""
