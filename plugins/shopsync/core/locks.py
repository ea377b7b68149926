"""One run at a time per shop (and channel): session advisory locks, held on a connection of their own.

A session lock outlives the transactions of the work it guards and goes with the session when a run is killed,
so the next run never waits for a dead one. Each kind of work has its namespace (the lock's first key):
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from shopsync.core.sql import sql_statement

# 7420001: `db init` (core/schema.py); 7420002: customers and order numbers (transaction locks in SQL).
CHANNEL_PUSHES = 7_420_003          # name: "<shop>/<channel>/<statuses|stock>"
SHIPPING = 7_420_014                # name: the shop; `shopsync cancel` takes it too
BUYER_MAIL = 7_420_041              # name: the shop


@contextmanager
def session_lock(engine: Engine, namespace: int, name: str, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Hold the lock (namespace, name) for the block; yields False, without waiting longer than `wait_seconds`,
    when another session holds it (the caller says what that means for its work)."""
    key = {"namespace": namespace, "name": name}
    deadline = time.monotonic() + wait_seconds
    with engine.connect() as conn:
        while not (locked := bool(conn.execute(sql_statement("core/try_session_lock.sql"), key).scalar_one())):
            conn.commit()
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        conn.commit()
        try:
            yield locked
        finally:
            if locked:
                conn.execute(sql_statement("core/release_session_lock.sql"), key)
                conn.commit()
