"""Versioned schema: applies include/sql/schema/NNN_name.sql in order, once each, then every function of
include/sql/functions/ (CREATE OR REPLACE: the function files are the functions' source of truth)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.sql import sql_path

MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Serialises concurrent `db init` runs (an arbitrary constant key).
MIGRATION_LOCK_KEY = 7_420_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def migrations() -> list[Migration]:
    found = []
    for path in sorted(sql_path("schema").glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    return found


def applied_versions(conn: sa.Connection) -> set[int]:
    rows = conn.execute(sa.text("SELECT version FROM schema_version"))
    return {row.version for row in rows}


def run_script(conn: sa.Connection, script: str) -> None:
    """Run a multi-statement SQL script in the connection's transaction, without parameter parsing."""
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(script)


def function_files() -> list[Path]:
    return sorted(sql_path("functions").glob("*.sql"))


def apply_functions(conn: sa.Connection) -> None:
    """(Re)create every PL/pgSQL and SQL function from its own file; run after the numbered migrations."""
    for path in function_files():
        run_script(conn, path.read_text(encoding="utf-8"))


def init_schema(engine: Engine) -> list[Migration]:
    """Create or upgrade the schema; returns the migrations applied now (empty when up to date)."""
    applied_now = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        done = applied_versions(conn)
        for migration in migrations():
            if migration.version in done:
                continue
            run_script(conn, migration.path.read_text(encoding="utf-8"))
            conn.execute(
                sa.text("INSERT INTO schema_version (version, name) VALUES (:v, :n)"),
                {"v": migration.version, "n": migration.name},
            )
            applied_now.append(migration)
        apply_functions(conn)
    return applied_now


def current_version(engine: Engine) -> int | None:
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('schema_version')")).scalar()
        if exists is None:
            return None
        return conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar()
