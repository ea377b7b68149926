"""The orders statements: one file each under include/sql/orders/, read once per process."""

from __future__ import annotations

import sqlalchemy as sa

from shopsync.paths import sql_statement


def statement(name: str) -> sa.TextClause:
    return sql_statement(f"orders/{name}.sql")
