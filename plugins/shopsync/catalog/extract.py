"""Extract from the accounting database: everything (full) or only what changed in a window (incremental).

All streams of one extract are read in a single REPEATABLE READ, read-only
transaction, so goods, stock and prices come from one consistent moment.
Large results are read through server-side cursors, in batches, in good id
order, and merged in Python (a merge-join of sorted streams), so memory does
not grow with the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shopsync.paths import read_sql

SCOPE_MARKER = re.compile(r"\{scope:([a-z_.]+)\}")
FETCH_BATCH = 5000


@dataclass(frozen=True)
class Scope:
    """Which ids an extract reads: all of them (ids is None) or the listed ones."""
    ids: Sequence[int] | None = None

    @property
    def is_full(self) -> bool:
        return self.ids is None

    def render(self, sql: str) -> str:
        if self.ids is None:
            return SCOPE_MARKER.sub("TRUE", sql)
        return SCOPE_MARKER.sub(lambda m: f"{m.group(1)} = ANY(CAST(:scope_ids AS bigint[]))", sql)

    def params(self) -> dict[str, Any]:
        return {} if self.ids is None else {"scope_ids": list(self.ids)}


def consistent_read(engine: Engine) -> Connection:
    """A connection in a REPEATABLE READ, read-only transaction (caller closes it)."""
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    conn.execute(sa.text("SET TRANSACTION READ ONLY"))
    return conn


def stream_rows(conn: Connection, sql_name: str, scope: Scope, **params: Any) -> Iterator[sa.Row]:
    """Rows of include/sql/extract/<sql_name>.sql through a server-side cursor."""
    sql = scope.render(read_sql(f"extract/{sql_name}.sql"))
    result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_BATCH).execute(
        sa.text(sql), {**params, **scope.params()}
    )
    try:
        yield from result
    finally:
        result.close()


def changed_ids(conn: Connection, entity: str, since: datetime, until: datetime) -> list[int]:
    rows = conn.execute(
        sa.text(read_sql("extract/changed_ids.sql")), {"entity": entity, "since": since, "until": until}
    )
    return [row.entity_id for row in rows]


class _SortedStream:
    """Rows of one stream, handed out per good id as the driving goods stream advances."""

    def __init__(self, rows: Iterator[sa.Row]):
        self._rows = rows
        self._pending: sa.Row | None = next(rows, None)

    def take(self, good_id: int) -> list[sa.Row]:
        taken = []
        while self._pending is not None and self._pending.good_id <= good_id:
            if self._pending.good_id == good_id:
                taken.append(self._pending)
            self._pending = next(self._rows, None)
        return taken


def goods_records(conn: Connection, scope: Scope, currency: str, warehouse_ids: Sequence[int]) -> Iterator[dict]:
    """One snapshot record per good (dicts in the snapshot schema), in good id order."""
    characteristics = _SortedStream(stream_rows(conn, "characteristics", scope))
    stock = _SortedStream(stream_rows(conn, "free_stock", scope, warehouse_ids=list(warehouse_ids)))
    tiers = _SortedStream(stream_rows(conn, "wholesale_tiers", scope, currency=currency))
    photos = _SortedStream(stream_rows(conn, "photos", scope))
    for good in stream_rows(conn, "goods", scope, currency=currency):
        record = good._asdict()
        good_id = record["good_id"]
        record["characteristics"] = [
            {"name": c.name, "value": c.value, "unit": c.unit, "slug": c.slug} for c in characteristics.take(good_id)
        ]
        record["warehouses"] = [{"warehouse_id": s.warehouse_id, "free": s.free} for s in stock.take(good_id)]
        record["tiers"] = [{"min_qty": t.min_qty, "price": t.price} for t in tiers.take(good_id)]
        record["photos"] = [
            {"position": p.position, "original_path": p.original_path, "checksum": p.checksum}
            for p in photos.take(good_id)
        ]
        yield record


def category_records(conn: Connection, map_key: str) -> list[dict]:
    return [row._asdict() for row in conn.execute(sa.text(read_sql("extract/categories.sql")), {"map_key": map_key})]


def customer_records(conn: Connection, scope: Scope) -> Iterator[dict]:
    for row in stream_rows(conn, "customers", scope):
        yield row._asdict()


def certificate_records(conn: Connection, scope: Scope) -> Iterator[dict]:
    for row in stream_rows(conn, "certificates", scope):
        yield row._asdict()
