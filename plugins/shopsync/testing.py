"""Throwaway PostgreSQL databases for the test suite (and benchmarks): real servers, never stand-ins.

Server choice: SHOPSYNC_TEST_DB_URL (any database on a server where we may
CREATE DATABASE), else the server on 127.0.0.1:5432 if it answers, else the
embedded server under .local/pgdata.
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from shopsync.core.db import embedded_server_url
from shopsync.core.schema import init_schema

LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
KEEP_TABLES = ("schema_version", "price_types")


def _answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def admin_url() -> str:
    if url := os.environ.get("SHOPSYNC_TEST_DB_URL"):
        return url
    if _answers(LOCAL_SERVER_URL):
        return LOCAL_SERVER_URL
    return embedded_server_url("postgres")


def create_database(prefix: str = "shopsync_test") -> str:
    """Create an empty database with a unique name; returns its URL."""
    admin = admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def create_schema_database(prefix: str = "shopsync_test") -> str:
    url = create_database(prefix)
    engine = sa.create_engine(url)
    try:
        init_schema(engine)
    finally:
        engine.dispose()
    return url


def truncate_all(engine: Engine) -> None:
    """Empty every data table (keeping the schema version and reference rows).

    DELETE with triggers and foreign-key checks off (replica mode, superuser only) takes ~20 ms for
    the few rows tests write; TRUNCATE of every table ~0.45 s. Without the privilege, TRUNCATE.
    """
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in _data_tables(conn):
                conn.execute(sa.text(f'DELETE FROM "{table}"'))
    except sa.exc.DBAPIError:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(_data_tables(conn))} RESTART IDENTITY CASCADE"))


def _data_tables(conn: sa.Connection) -> list[str]:
    tables = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    )).scalars().all()
    return [table for table in tables if table not in KEEP_TABLES]
