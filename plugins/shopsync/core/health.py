"""Database health figures: what the foundation DAG and `shopsync db status` report."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

REPORTED_TABLES = (
    "categories", "characteristic_kinds", "goods", "good_characteristics", "warehouses", "stock",
    "prices", "wholesale_tiers", "photos", "customers", "gift_certificates", "invoices", "reservations",
)


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in REPORTED_TABLES
        }
