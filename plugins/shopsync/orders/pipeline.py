"""Many orders over one connection without waiting for each answer: libpq pipeline mode (psycopg 3).

Each order is one statement (`shopsync_apply_order`) followed by a Sync message, so each order is still
a transaction of its own: committed on its own, and an error aborts that order only (the server skips
to the next Sync). The client keeps up to `in_flight` orders (tuning.orders_in_flight) unanswered: the
database applies the next order while Python prepares the one after, and neither waits for the other to
be scheduled, which is where the time went on a busy machine (two context switches per order).

Used by the ingest for a whole file; single orders, dry runs and callers with a transaction of their
own go through `apply_order` (SQLAlchemy, any driver).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from psycopg import pq
from sqlalchemy.pool import NullPool

from shopsync.core.sql import read_sql

STATEMENT_NAME = b""              # the unnamed prepared statement: nothing is left on a pooled connection


def _apply_statement() -> bytes:
    """orders/apply_order.sql with its one named parameter as libpq's $1."""
    text = read_sql("orders/apply_order.sql")
    if text.count(":document") != 1:
        raise RuntimeError("orders/apply_order.sql must use the parameter :document exactly once")
    return text.replace(":document", "$1").encode()


@contextmanager
def pipeline_connection(engine: sa.Engine) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection (autocommit) to the engine's database: one of the engine's own when it uses
    psycopg 3 (SQLAlchemy's default), else a separate one.

    Orders commit with synchronous_commit off: they do not wait for the WAL flush. The caller makes
    them durable with one synchronous commit afterwards (the ingest's file record, committed before the
    file leaves the inbox); a server crash before that loses only orders of a file that is processed
    again. The setting is reset before the connection goes back to the pool.
    """
    if engine.dialect.driver == "psycopg":
        with _autocommit(engine) as conn:
            yield conn
        return
    separate = sa.create_engine(engine.url.set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with _autocommit(separate) as conn:
            yield conn
    finally:
        separate.dispose()


@contextmanager
def _autocommit(engine: sa.Engine) -> Iterator[psycopg.Connection]:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("SET synchronous_commit = off"))
        conn.commit()
        try:
            yield conn.connection.driver_connection
        finally:
            if not conn.invalidated and not conn.connection.driver_connection.closed:
                conn.execute(sa.text("RESET synchronous_commit"))
                conn.commit()


def apply_documents(conn: psycopg.Connection, documents: Iterable[dict], *,
                    in_flight: int) -> Iterator[dict | psycopg.Error]:
    """Apply order documents (`apply.order_document`) in pipeline mode; yields, in order, each one's answer
    (the decoded JSON of shopsync_apply_order) or the error the database raised for it (that order is
    rolled back, the others are not affected).

    `in_flight` orders at most are sent and not yet answered. Their statements (~1-2 KB each) and answers
    (~0.3 KB) stay far below the socket buffers at the default 64, so neither side can block the other
    while both are writing.

    A connection failure raises. Stopping early (an exception in the consumer) still reads the answers
    of the orders in flight, which the database applies and commits regardless.
    """
    pgconn = conn.pgconn
    _check(pgconn.prepare(STATEMENT_NAME, _apply_statement()), pgconn)
    was_nonblocking = pgconn.nonblocking
    pgconn.nonblocking = 0          # plain blocking sends and reads: the window keeps both sides moving
    pgconn.enter_pipeline_mode()
    unanswered = 0
    try:
        for document in documents:
            pgconn.send_query_prepared(STATEMENT_NAME, [json.dumps(document, ensure_ascii=False).encode()])
            pgconn.pipeline_sync()
            unanswered += 1
            if unanswered >= in_flight:
                unanswered -= 1
                yield _answer(pgconn)
        while unanswered:
            unanswered -= 1
            yield _answer(pgconn)
    finally:
        try:
            while unanswered and pgconn.status == pq.ConnStatus.OK:
                unanswered -= 1
                _answer(pgconn)
            if pgconn.status == pq.ConnStatus.OK:
                pgconn.exit_pipeline_mode()
        finally:
            pgconn.nonblocking = was_nonblocking


def _answer(pgconn: pq.abc.PGconn) -> dict | psycopg.Error:
    """One order's answer: its result (or error), the end of its results, then its Sync."""
    result = pgconn.get_result()
    if result is None or result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.FATAL_ERROR):
        raise psycopg.OperationalError(_connection_problem(pgconn, result))
    if result.status == pq.ExecStatus.FATAL_ERROR:
        if pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError(_connection_problem(pgconn, result))
        answer: dict | psycopg.Error = psycopg.errors.error_from_result(result, encoding=_encoding(pgconn))
    else:
        answer = json.loads(result.get_value(0, 0))
    end, sync = pgconn.get_result(), pgconn.get_result()
    if end is not None or sync is None or sync.status != pq.ExecStatus.PIPELINE_SYNC:
        raise psycopg.OperationalError(_connection_problem(pgconn, sync))
    return answer


def _check(result: pq.abc.PGresult, pgconn: pq.abc.PGconn) -> None:
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=_encoding(pgconn))


def _encoding(pgconn: pq.abc.PGconn) -> str:
    return (pgconn.parameter_status(b"client_encoding") or b"UTF8").decode()


def _connection_problem(pgconn: pq.abc.PGconn, result: pq.abc.PGresult | None) -> str:
    message = (pgconn.error_message or b"").decode(errors="replace").strip()
    status = result.status.name if result is not None else "no result"
    return f"lost track of the order pipeline ({status}): {message or 'unexpected answer from the server'}"
