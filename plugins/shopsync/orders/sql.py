"""The orders statements: one file each under include/sql/orders/, read once per process."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from shopsync.paths import read_sql


@cache
def statement(name: str) -> sa.TextClause:
    return sa.text(read_sql(f"orders/{name}.sql"))
