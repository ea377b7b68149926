"""The one SQL loader: each statement lives in its own file under include/sql/, read once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, text

from shopsync.core.paths import include_dir


def sql_path(relative: str) -> Path:
    return include_dir() / "sql" / relative


def read_sql(relative: str) -> str:
    """One SQL statement from include/sql/ (each statement lives in its own file)."""
    return sql_path(relative).read_text(encoding="utf-8")


@cache
def sql_statement(relative: str) -> TextClause:
    """read_sql as a SQLAlchemy statement, read once per process."""
    return text(read_sql(relative))
