"""Catalog export: extract -> snapshot -> transform -> validate -> feeds -> publish."""
