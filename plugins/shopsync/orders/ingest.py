"""Ingest order files: parse -> apply each order in its own transaction -> archive or quarantine.

The same code runs in the DAG and in `shopsync ingest`. Nothing is lost: a file
leaves the inbox only after every order in it has either landed (applied,
flagged or skipped as already present) or been written into the quarantine
report with its reason. Nothing is doubled: invoices are insert-or-skip on
(shop, external order number), so re-running a file, or a run killed half way
through one, applies each order once. Nothing is silently dropped either: an
order number that arrives again with other content is a "conflict" (recorded
with both versions, the first one kept), counted and listed in the summary.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from shopsync.config import ShopSettings
from shopsync.orders.apply import ApplyResult, apply_order, apply_orders
from shopsync.orders.formats import parse_order_file
from shopsync.orders.inbox import InboxError
from shopsync.orders.model import Order, ParsedFile, RejectedOrder, UnreadableFile
from shopsync.orders.sql import statement
from shopsync.stock import shop_warehouses

log = logging.getLogger(__name__)
# What the database says about one order's data (a constraint, a value that does not fit): that order is
# rejected with the database's words and the others land. Any other error fails the run.
REFUSED_ORDER = (psycopg.IntegrityError, psycopg.DataError, IntegrityError, DataError)


@dataclass
class FileOutcome:
    file_name: str
    sha256: str
    format: str | None = None
    applied: int = 0
    skipped: int = 0
    flagged: int = 0
    rejected: int = 0
    conflicts: int = 0                       # order numbers sent again with other content (first version kept)
    unreadable: str | None = None            # why the whole file could not be read
    orders: list[dict[str, Any]] = field(default_factory=list)
    reserved: dict[int, str] = field(default_factory=dict)   # good_id -> units reserved now (as text)
    destination: str | None = None           # archive/<name> or quarantine/<name>
    file_id: int | None = None

    @property
    def total(self) -> int:
        return self.applied + self.skipped + self.flagged + self.rejected + self.conflicts

    @property
    def quarantined(self) -> bool:
        return self.unreadable is not None or self.rejected > 0

    def summary_line(self) -> str:
        if self.unreadable:
            return f"{self.file_name}: QUARANTINED, unreadable: {self.unreadable}"
        where = "quarantined" if self.quarantined else "archived"
        conflicts = f", {self.conflicts} sent again with other content (conflicts)" if self.conflicts else ""
        return (f"{self.file_name} ({self.format}): {self.applied} applied, {self.skipped} skipped as already "
                f"present, {self.flagged} flagged{conflicts}, {self.rejected} rejected -> {where}")

    def conflict_entries(self) -> list[dict[str, Any]]:
        return [{"file": self.file_name, **entry} for entry in self.orders if entry["status"] == "conflict"]

    def error_report(self) -> dict[str, Any]:
        """What the shop manager reads in quarantine/<file>.error.json."""
        problems = [o for o in self.orders if o["status"] == "rejected"]
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "format": self.format,
            "reason": self.unreadable or f"{self.rejected} of {self.total} orders could not be accepted",
            "orders_rejected": problems,
            "orders_landed": [o for o in self.orders if o["status"] != "rejected"],
            "what_to_do": (
                "Fix the rejected orders (or the whole file) and put the file back into the inbox: orders that "
                "already landed are recognised by their order number and are not created twice."
            ),
        }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rejected_entry(rejected: RejectedOrder) -> dict[str, Any]:
    return {"position": rejected.position, "order_number": rejected.external_number,
            "status": "rejected", "reasons": rejected.reasons}


def _applied_entry(position: int, result: ApplyResult) -> dict[str, Any]:
    entry = {"position": position, "order_number": result.external_number, "status": result.status,
             "invoice_id": result.invoice_id, "reasons": result.reasons,
             "reserved": {str(good): str(qty) for good, qty in result.reserved.items()}}
    if result.conflict_id is not None:
        entry["conflict_id"] = result.conflict_id
    return entry


def _start_file_record(engine: Engine, shop_id: str, file_name: str, digest: str) -> int:
    """The order_files row of this receipt; a run killed half way re-uses its 'processing' row."""
    with engine.begin() as conn:
        existing = conn.execute(statement("find_processing_file"),
                                {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar()
        if existing is not None:
            return existing
        return conn.execute(statement("insert_order_file"),
                            {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar_one()


def _finish_file_record(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(statement("finish_order_file"), {
            "id": outcome.file_id, "format": outcome.format,
            "status": "quarantined" if outcome.quarantined else "archived",
            "orders_total": outcome.total, "applied": outcome.applied, "skipped": outcome.skipped,
            "flagged": outcome.flagged, "rejected": outcome.rejected, "conflicts": outcome.conflicts,
            "details": json.dumps({"unreadable": outcome.unreadable, "orders": outcome.orders}, ensure_ascii=False),
        })


def _apply_parsed(engine: Engine, shop: ShopSettings, parsed: ParsedFile, outcome: FileOutcome,
                  warehouses: list[int], today: date, dry_run: bool) -> None:
    positions = _order_positions(parsed)
    if dry_run:
        results = _dry_run(engine, shop, parsed.orders, warehouses, today)
    else:
        # Each order a transaction of its own, all of them over one connection without a round trip per
        # order; they commit without waiting for the disk, and the file's record, committed synchronously
        # before the file leaves the inbox, flushes them all. A crash before that re-processes the file.
        results = apply_orders(engine, shop.id, parsed.orders, warehouses, outcome.file_id, today,
                               checks=shop.order_checks)
    for order, position, result in zip(parsed.orders, positions, results, strict=True):
        _record(outcome, order, position, result)
    for rejected in parsed.rejected:
        outcome.orders.append(_rejected_entry(rejected))
        outcome.rejected += 1
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


def _record(outcome: FileOutcome, order: Order, position: int, result: ApplyResult | Exception) -> None:
    if isinstance(result, Exception):
        if not isinstance(result, REFUSED_ORDER):
            raise result        # not about this order (connection, deadlock, bug): the file stays in the inbox
        said = str(getattr(result, "orig", result)).splitlines()[0]
        reason = f"the accounting database refused this order: {said}"
        outcome.orders.append(_rejected_entry(RejectedOrder(position, order.external_number, [reason])))
        outcome.rejected += 1
        return
    outcome.orders.append(_applied_entry(position, result))
    counter = "conflicts" if result.status == "conflict" else result.status
    setattr(outcome, counter, getattr(outcome, counter) + 1)
    for good_id, quantity in result.reserved.items():
        outcome.reserved[good_id] = str(Decimal(outcome.reserved.get(good_id, "0")) + quantity)


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


def ingest_bytes(engine: Engine, shop: ShopSettings, file_name: str, data: bytes, *,
                 today: date | None = None, dry_run: bool = False) -> FileOutcome:
    """Apply one file's orders (the database side; moving the file is the caller's)."""
    outcome = FileOutcome(file_name=file_name, sha256=sha256_of(data))
    today = today or datetime.now(UTC).date()
    if not dry_run:
        outcome.file_id = _start_file_record(engine, shop.id, file_name, outcome.sha256)
    try:
        parsed = parse_order_file(data, file_name, shop.orders_inbox.format)
    except UnreadableFile as exc:
        outcome.unreadable = str(exc)
    else:
        outcome.format = parsed.format
        with engine.connect() as conn:
            warehouses = shop_warehouses(conn, shop.warehouses)
        _apply_parsed(engine, shop, parsed, outcome, warehouses, today, dry_run)
    if not dry_run:
        _finish_file_record(engine, outcome)
    return outcome


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def reserved_goods(self) -> list[int]:
        return sorted({good for outcome in self.files for good in outcome.reserved})

    def counts(self) -> dict[str, int]:
        counts = Counter()
        for outcome in self.files:
            counts.update({"applied": outcome.applied, "skipped": outcome.skipped, "flagged": outcome.flagged,
                           "rejected": outcome.rejected, "conflicts": outcome.conflicts,
                           "quarantined_files": int(outcome.quarantined),
                           "archived_files": int(not outcome.quarantined)})
        counts["files"] = len(self.files)
        counts["reserved_goods"] = len(self.reserved_goods)
        return {key: counts.get(key, 0) for key in (
            "files", "applied", "skipped", "flagged", "rejected", "conflicts", "archived_files",
            "quarantined_files", "reserved_goods")}

    def conflicts(self) -> list[dict[str, Any]]:
        """Each order sent again with other content: file, order number, invoice, conflict id, reasons."""
        return [entry for outcome in self.files for entry in outcome.conflict_entries()]


def ingest_inbox(engine: Engine, shop: ShopSettings, inbox, *, now: datetime | None = None) -> IngestSummary:
    """Process every ready file of the shop's inbox, oldest first."""
    summary = IngestSummary()
    for entry in inbox.list_ready(now):
        data = inbox.read(entry.name)
        outcome = ingest_bytes(engine, shop, entry.name, data)
        _file_away(engine, inbox, outcome)
        log.info(outcome.summary_line())
        summary.files.append(outcome)
    return summary


def _file_away(engine: Engine, inbox, outcome: FileOutcome) -> None:
    """Move a processed file to archive/ or (with its error report) quarantine/, and record where it went."""
    if outcome.quarantined:
        outcome.destination = inbox.quarantine(outcome.file_name, outcome.error_report())
    else:
        outcome.destination = inbox.archive(outcome.file_name)
    _record_location(engine, outcome)


def _record_location(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(statement("set_order_file_location"), {"id": outcome.file_id, "stored_as": outcome.destination})


def reapply_interval(engine: Engine, shop: ShopSettings, inbox, start: datetime, end: datetime) -> IngestSummary:
    """Re-apply the archived files received in [start, end): present orders skip, missing ones land."""
    summary = IngestSummary()
    for receipt in files_received_between(engine, shop.id, start, end):
        data = inbox.store.read(receipt.stored_as)
        if data is None:
            log.warning("%s: archived file %s is gone; cannot re-apply it", shop.id, receipt.stored_as)
            continue
        outcome = ingest_bytes(engine, shop, receipt.file_name, data)
        outcome.destination = receipt.stored_as
        _record_location(engine, outcome)
        log.info("re-applied %s", outcome.summary_line())
        summary.files.append(outcome)
    return summary


def files_received_between(engine: Engine, shop_id: str, start: datetime, end: datetime) -> list[sa.Row]:
    """Archived receipts of an interval: what a backfill of the ingest DAG re-applies."""
    with engine.connect() as conn:
        return conn.execute(statement("files_received_between"),
                            {"shop_id": shop_id, "start": start, "end": end}).all()


def replay_quarantined(engine: Engine, shop: ShopSettings, inbox, name: str,
                       fixed_content: bytes | None = None) -> FileOutcome:
    """Apply a quarantined file again (after fixing it): orders that already landed are skipped by number.

    The file (or its fixed content) is put back into the inbox, its old error report removed, and it is
    processed at once like any new file: archived when every order lands, quarantined again otherwise.
    """
    import io

    quarantined = f"quarantine/{name}"
    data = fixed_content if fixed_content is not None else inbox.store.read(quarantined)
    if data is None:
        raise InboxError(f"{inbox.description}: no quarantined file {name}")
    inbox.store.write_atomic(name, io.BytesIO(data))
    inbox.store.remove(quarantined)
    if inbox.store.exists(quarantined + ".error.json"):
        inbox.store.remove(quarantined + ".error.json")
    outcome = ingest_bytes(engine, shop, name, data)
    _file_away(engine, inbox, outcome)
    return outcome
