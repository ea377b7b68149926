"""Extract from the accounting database: everything (full) or only what changed in a window (incremental).

All streams of one extract are read in a single REPEATABLE READ, read-only
transaction, so goods, stock and prices come from one consistent moment.

Goods are read in chunks of at most tuning.extract_goods_chunk goods (a good id range for a full
extract, a slice of the id list for an incremental one), so memory does not grow
with the catalog. Each of the five streams of a chunk (goods and its four child
tables, in good id order) is read with `COPY (<query>) TO STDOUT` as CSV and
parsed by pyarrow; the child rows become the list<struct> columns of the
snapshot by offsets, not by Python objects per row. Characteristics come as kind ids, joined
to the characteristic kinds (read once per extract) on the client. A thread reads the next
chunk from the database while the current one is parsed and written. COPY takes
no bound parameters, so the queries get literal values (ints, psycopg-quoted
literals). Customers and certificates are small: server-side cursors, a dict per row.
"""

from __future__ import annotations

import re
import selectors
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from queue import Queue
from typing import Any, TypeVar

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from psycopg import pq
from psycopg import sql as pg_sql
from sqlalchemy.engine import Connection, Engine

from shopsync.catalog.snapshot import GOODS_SCHEMA
from shopsync.core.sql import read_sql
from shopsync.core.tuning import Tuning

SCOPE_MARKER = re.compile(r"\{scope:([a-z_.]+)\}")
PARAM_MARKER = re.compile(r"(?<![:\w]):([a-z_]+)\b")

# Child streams (include/sql/extract/<stream>.sql, rows ordered by good_id) -> their list column of GOODS_SCHEMA.
CHILD_COLUMNS = {"characteristics": "characteristics", "free_stock": "warehouses",
                 "wholesale_tiers": "tiers", "photos": "photos"}
GOODS_COLUMNS = {f.name: f.type for f in GOODS_SCHEMA if f.name not in CHILD_COLUMNS.values()}
CHARACTERISTIC_COLUMNS = {"good_id": pa.int64(), "kind_id": pa.int64(), "value": pa.string(), "unit": pa.string()}
KIND_COLUMNS = {"kind_id": pa.int64(), "name": pa.string(), "unit": pa.string(), "slug": pa.string()}

T = TypeVar("T")
_DONE = object()

# PostgreSQL CSV: NULL is an empty unquoted field, '' is "" (quoted); booleans are t / f.
_CSV_READ = pa_csv.ReadOptions(use_threads=True)
_CSV_PARSE = pa_csv.ParseOptions(newlines_in_values=True)


@dataclass(frozen=True)
class Scope:
    """Which ids an extract reads: all of them, the listed ones (ids), or the range lo..hi (id_range)."""
    ids: Sequence[int] | None = None
    id_range: tuple[int, int] | None = None

    def render(self, sql: str) -> str:
        """sql with every {scope:<column>} replaced by a condition with literal ids (ints only)."""
        return SCOPE_MARKER.sub(lambda m: self._condition(m.group(1)), sql)

    def _condition(self, column: str) -> str:
        if self.ids is not None:
            ids = ",".join(str(int(i)) for i in self.ids)
            return f"{column} = ANY(CAST('{{{ids}}}' AS bigint[]))"
        if self.id_range is not None:
            lo, hi = (int(v) for v in self.id_range)
            return f"{column} BETWEEN {lo} AND {hi}"
        return "TRUE"


def consistent_read(engine: Engine) -> Connection:
    """A connection in a REPEATABLE READ, read-only transaction (caller closes it)."""
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    conn.execute(sa.text("SET TRANSACTION READ ONLY"))
    return conn


def stream_rows(conn: Connection, sql_name: str, scope: Scope, fetch_rows: int, **params: Any) -> Iterator[sa.Row]:
    """Rows of include/sql/extract/<sql_name>.sql through a server-side cursor, fetch_rows per round trip."""
    sql = scope.render(read_sql(f"extract/{sql_name}.sql"))
    result = conn.execution_options(stream_results=True, max_row_buffer=fetch_rows).execute(sa.text(sql), params)
    try:
        yield from result
    finally:
        result.close()


def changed_ids(conn: Connection, entity: str, since: datetime, until: datetime) -> list[int]:
    rows = conn.execute(
        sa.text(read_sql("extract/changed_ids.sql")), {"entity": entity, "since": since, "until": until}
    )
    return [row.entity_id for row in rows]


def changed_good_ids(conn: Connection, since: datetime, until: datetime) -> list[int]:
    """Goods changed in [since, until): their own rows, and the goods of the characteristic kinds and model
    groups changed then (their names are copied into those goods' feed lines)."""
    ids = set(changed_ids(conn, "good", since, until))
    for entity, sql_name, param in (("characteristic_kind", "goods_of_changed_kinds", "kind_ids"),
                                    ("model_group", "goods_of_changed_model_groups", "model_group_ids")):
        changed = changed_ids(conn, entity, since, until)
        if changed:
            rows = conn.execute(sa.text(read_sql(f"extract/{sql_name}.sql")), {param: changed})
            ids.update(row.good_id for row in rows)
    return sorted(ids)


# --- goods: COPY per chunk into pyarrow -------------------------------------------------------------

def goods_batches(conn: Connection, scope: Scope, currency: str, warehouse_ids: Sequence[int],
                  tuning: Tuning) -> Iterator[pa.RecordBatch]:
    """The scope's goods as GOODS_SCHEMA record batches (one per chunk of tuning.extract_goods_chunk goods), in
    good id order.

    While the caller builds and writes one chunk, a thread reads the next one from the database (it alone uses
    the connection until the batches are done).
    """
    raw = conn.connection.driver_connection
    params = {"currency": str(currency), "warehouse_ids": [int(w) for w in warehouse_ids]}
    chunks = list(_goods_chunks(conn, scope, tuning.extract_goods_chunk))
    kinds = _read_csv(_copy_csv(raw, "characteristic_kinds", scope, params), KIND_COLUMNS, "characteristic_kinds")
    streams = ("goods", *CHILD_COLUMNS)
    csv_chunks = ({stream: _copy_csv(raw, stream, chunk, params) for stream in streams} for chunk in chunks)
    for csv in _read_ahead(csv_chunks):
        goods = _read_csv(csv.pop("goods"), GOODS_COLUMNS, "goods")
        if goods.num_rows:
            yield _goods_batch(goods, csv, kinds)


def _goods_chunks(conn: Connection, scope: Scope, chunk: int) -> Iterator[Scope]:
    """The scope in pieces of at most `chunk` goods, in id order."""
    if scope.ids is not None:
        ids = sorted({int(i) for i in scope.ids})
        for start in range(0, len(ids), chunk):
            yield Scope(ids=ids[start:start + chunk])
        return
    ranges = conn.execute(sa.text(read_sql("extract/goods_chunks.sql")), {"chunk": chunk}).all()
    for lo, hi in ranges:
        yield Scope(id_range=(lo, hi))


def _goods_batch(goods: pa.Table, children_csv: Mapping[str, bytearray], kinds: pa.Table) -> pa.RecordBatch:
    good_ids = _ascending(goods.column("good_id").to_numpy(), "goods", strict=True)
    columns = [goods.column(name).combine_chunks() for name in GOODS_COLUMNS]
    for stream, column in CHILD_COLUMNS.items():
        list_type = GOODS_SCHEMA.field(column).type
        if stream == "characteristics":
            rows = _with_kinds(_read_csv(children_csv[stream], CHARACTERISTIC_COLUMNS, stream), kinds)
        else:
            item_types = {"good_id": pa.int64(), **{f.name: f.type for f in list_type.value_type}}
            rows = _read_csv(children_csv[stream], item_types, stream)
        columns.append(_list_column(good_ids, rows, list_type, stream))
    return pa.RecordBatch.from_arrays(columns, schema=GOODS_SCHEMA)


def _with_kinds(rows: pa.Table, kinds: pa.Table) -> pa.Table:
    """Characteristic rows (good_id, kind_id, value, unit) with their kind's name and slug, and its unit where
    the row has none."""
    at = pc.index_in(rows.column("kind_id"), value_set=kinds.column("kind_id"))
    if at.null_count:
        raise RuntimeError("extract/characteristics.sql: a kind id that characteristic_kinds.sql does not list")
    kind = kinds.take(at)
    return pa.table({"good_id": rows.column("good_id"), "name": kind.column("name"), "value": rows.column("value"),
                     "unit": pc.coalesce(rows.column("unit"), kind.column("unit")), "slug": kind.column("slug")})


def _read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each produced by a thread while the caller handles the one before (one ahead, no more)."""
    handoff: Queue = Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                handoff.put((item, None))           # the queue is empty: the previous item was taken
                while not taken.acquire(timeout=0.1):
                    if stop.is_set():
                        return
            handoff.put((_DONE, None))
        except BaseException as exc:            # handed to the consumer, raised there
            handoff.put((None, exc))

    thread = threading.Thread(target=produce, name="extract-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            taken.release()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _copy_csv(raw: psycopg.Connection, sql_name: str, scope: Scope, params: Mapping[str, Any]) -> bytearray:
    """include/sql/extract/<sql_name>.sql as CSV (with a header) from COPY ... TO STDOUT.

    `:name` parameters of the query become literals quoted by psycopg (COPY takes no bound parameters).
    """
    query = scope.render(read_sql(f"extract/{sql_name}.sql")).strip().rstrip(";")
    query = PARAM_MARKER.sub(lambda m: pg_sql.Literal(params[m.group(1)]).as_string(raw), query)
    return _copy_out(raw, f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')")


def _read_csv(data: bytearray, types: Mapping[str, pa.DataType], sql_name: str) -> pa.Table:
    """PostgreSQL CSV into a table of exactly these columns and types (NULL: empty unquoted; '': quoted)."""
    convert = pa_csv.ConvertOptions(
        column_types=dict(types), null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
        true_values=["t"], false_values=["f"],
    )
    table = pa_csv.read_csv(pa.py_buffer(data), read_options=_CSV_READ, parse_options=_CSV_PARSE,
                            convert_options=convert)
    if table.column_names != list(types):
        raise RuntimeError(f"extract/{sql_name}.sql returns {table.column_names}, expected {list(types)}")
    return table


def _copy_out(raw: psycopg.Connection, statement: str) -> bytearray:
    """All data of a COPY ... TO STDOUT, read from libpq in a tight loop.

    The server sends one message per row; psycopg's Copy iterator spends several Python calls on each (about
    1 s of CPU per 2 M rows, half the COPY's wall time). psycopg starts the COPY and raises its errors; the
    rows and the final result are read here, waiting for the socket (not inside libpq, which holds the GIL).
    """
    data = bytearray()
    pgconn = raw.pgconn
    with raw.cursor() as cursor, cursor.copy(statement), selectors.DefaultSelector() as selector:
        selector.register(pgconn.socket, selectors.EVENT_READ)
        while True:
            nbytes, row = pgconn.get_copy_data(1)
            if nbytes > 0:
                data += row
            elif nbytes == 0:           # nothing received yet
                selector.select()
                pgconn.consume_input()
            else:                       # end of the data (or an error, reported by the result)
                break
        while pgconn.is_busy():
            selector.select()
            pgconn.consume_input()
        while (result := pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                message = (result.error_message or b"").decode(errors="replace").strip()
                raise psycopg.DatabaseError(f"{statement[:200]}...: {message}")
    return data


def _ascending(ids: np.ndarray, stream: str, strict: bool = False) -> np.ndarray:
    steps = np.diff(ids)
    if not (steps > 0 if strict else steps >= 0).all():
        raise RuntimeError(f"extract/{stream}.sql: rows are not in good id order")
    return ids


def _list_column(good_ids: np.ndarray, rows: pa.Table, list_type: pa.ListType, stream: str) -> pa.ListArray:
    """One list per good (empty when it has no rows): rows grouped by good_id, both sides in id order."""
    owners = _ascending(rows.column("good_id").to_numpy(), stream)
    at = np.searchsorted(good_ids, owners)
    known = at < len(good_ids)
    known[known] = good_ids[at[known]] == owners[known]
    if not known.all():                 # rows of goods that are not in the chunk: dropped, as a merge-join would
        rows = rows.filter(pa.array(known))
        owners = owners[known]
    offsets = np.append(np.searchsorted(owners, good_ids), len(owners)).astype(np.int32)
    item_type = list_type.value_type
    items = pa.StructArray.from_arrays([rows.column(f.name).combine_chunks() for f in item_type],
                                       fields=list(item_type))
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=list_type)


# --- small data sets: rows through server-side cursors -----------------------------------------------

def category_records(conn: Connection, map_key: str) -> list[dict]:
    return [row._asdict() for row in conn.execute(sa.text(read_sql("extract/categories.sql")), {"map_key": map_key})]


def category_map(conn: Connection, map_key: str) -> dict[int, str]:
    """One map's rows (a marketplace's own map): our category id -> the marketplace's id."""
    rows = conn.execute(sa.text(read_sql("extract/category_map.sql")), {"map_key": map_key})
    return {row.category_id: row.external_id for row in rows}


def customer_records(conn: Connection, scope: Scope, tuning: Tuning) -> Iterator[dict]:
    for row in stream_rows(conn, "customers", scope, tuning.fetch_rows):
        yield row._asdict()


def certificate_records(conn: Connection, scope: Scope, tuning: Tuning) -> Iterator[dict]:
    for row in stream_rows(conn, "certificates", scope, tuning.fetch_rows):
        yield row._asdict()
