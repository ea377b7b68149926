"""Orders ingest: inbox -> parse -> validate -> apply (customer, invoice, reservations) -> archive."""
