"""One order file's bytes into the database: parse them, apply each order in a transaction of its own (or
roll each back, in a dry run), and count every order into the file's `FileOutcome`. Moving the file is
the caller's (shopsync.orders.ingest, shopsync.orders.replay, `shopsync ingest`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from shopsync.core.config import ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.orders import file_records
from shopsync.orders.apply import ApplyResult, apply_order, apply_orders
from shopsync.orders.faults import describe, is_environment_fault
from shopsync.orders.formats import parse_order_file
from shopsync.orders.model import CutOffFile, Order, ParsedFile, RejectedOrder, UnreadableFile
from shopsync.orders.outcome import FileOutcome, sha256_of
from shopsync.stock import shop_warehouses

# What the database says about one order's data (a constraint, a value that does not fit): that order is
# rejected with the database's words and the others land. Any other error fails the run.
REFUSED_ORDER = (psycopg.IntegrityError, psycopg.DataError, IntegrityError, DataError)


def ingest_bytes(engine: Engine, shop: ShopSettings, file_name: str, data: bytes, *,
                 today: date | None = None, dry_run: bool = False, tuning: Tuning = DEFAULT_TUNING) -> FileOutcome:
    """Apply one file's orders (the database side; moving the file is the caller's)."""
    outcome = FileOutcome(file_name=file_name, sha256=sha256_of(data))
    if not dry_run:
        outcome.file_id = file_records.start_file_record(engine, shop.id, file_name, outcome.sha256)
    parse_and_apply(engine, shop, outcome, data, today=today, dry_run=dry_run, tuning=tuning)
    if not dry_run:
        file_records.finish_file_record(engine, outcome)
    return outcome


def parse_and_apply(engine: Engine, shop: ShopSettings, outcome: FileOutcome, data: bytes, *,
                    today: date | None = None, dry_run: bool = False, tuning: Tuning = DEFAULT_TUNING) -> None:
    """Parse the file into the outcome; a file that cannot be read is marked unreadable (cut off or not)."""
    today = today or datetime.now(UTC).date()
    try:
        parsed = parse_order_file(data, outcome.file_name, shop.orders_inbox.format)
    except UnreadableFile as exc:
        outcome.unreadable = str(exc)
        outcome.cut_off = isinstance(exc, CutOffFile)
    else:
        outcome.format = parsed.format
        with engine.connect() as conn:
            warehouses = shop_warehouses(conn, shop.warehouses)
        _apply_parsed(engine, shop, parsed, outcome, warehouses, today, dry_run, tuning)


def _apply_parsed(engine: Engine, shop: ShopSettings, parsed: ParsedFile, outcome: FileOutcome,
                  warehouses: list[int], today: date, dry_run: bool, tuning: Tuning) -> None:
    positions = _order_positions(parsed)
    if dry_run:
        results = _dry_run(engine, shop, parsed.orders, warehouses, today)
    else:
        # Each order a transaction of its own, all of them over one connection without a round trip per
        # order; they commit without waiting for the disk, and the file's record, committed synchronously
        # before the file leaves the inbox, flushes them all. A crash before that re-processes the file.
        results = apply_orders(engine, shop.id, parsed.orders, warehouses, outcome.file_id, today,
                               checks=shop.order_checks, tuning=tuning)
    for order, position, result in zip(parsed.orders, positions, results, strict=True):
        _count(outcome, order, position, result)
    for rejected in parsed.rejected:
        outcome.count_rejected(rejected)
    outcome.orders.sort(key=lambda entry: entry["position"])


def _dry_run(engine: Engine, shop: ShopSettings, orders: list[Order], warehouses: list[int],
             today: date) -> Iterator[ApplyResult | Exception]:
    """What each order would do: each in a transaction that is rolled back, over one connection."""
    with engine.connect() as conn:
        for order in orders:
            try:
                yield apply_order(conn, shop.id, order, warehouses, None, today, dry_run=True,
                                  checks=shop.order_checks)
            except (IntegrityError, DataError) as exc:
                yield exc
            except sa.exc.DBAPIError as exc:    # also an index row too large: this order's, unless the connection's
                if is_environment_fault(exc):
                    raise
                yield exc


def _count(outcome: FileOutcome, order: Order, position: int, result: ApplyResult | Exception) -> None:
    if isinstance(result, Exception):
        if not isinstance(result, REFUSED_ORDER) and is_environment_fault(result):
            raise result        # not about this order (connection, deadlock): the file stays in the inbox
        said = describe(getattr(result, "orig", None) or result)
        reason = f"the accounting database refused this order: {said}"
        outcome.count_rejected(RejectedOrder(position, order.external_number, [reason]))
        return
    outcome.count_landed(position, result)


def _order_positions(parsed: ParsedFile) -> list[int]:
    """1-based positions of the parsed orders in the file (the rejected ones hold the other positions)."""
    taken = {r.position for r in parsed.rejected}
    positions, candidate = [], 1
    for _ in parsed.orders:
        while candidate in taken:
            candidate += 1
        positions.append(candidate)
        candidate += 1
    return positions
