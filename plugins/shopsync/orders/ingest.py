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
import io
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

from shopsync.core.config import ShopSettings
from shopsync.core.errors import PermanentError
from shopsync.core.sql import sql_statement
from shopsync.orders.apply import ApplyResult, apply_order, apply_orders
from shopsync.orders.faults import MAX_ATTEMPTS, describe, is_environment_fault
from shopsync.orders.formats import MAX_FILE_BYTES, parse_order_file
from shopsync.orders.inbox import (
    QUARANTINE_DIR,
    REPORT_SUFFIX,
    FileVanished,
    InboxError,
    InboxFile,
    free_name_candidates,
    printable_name,
)
from shopsync.orders.model import CutOffFile, Order, ParsedFile, RejectedOrder, UnreadableFile
from shopsync.stock import shop_warehouses
from shopsync.transport.base import FileTooLarge, NotRegularFile, RemoteEntry, UnsuitableFile

log = logging.getLogger(__name__)
# What the database says about one order's data (a constraint, a value that does not fit): that order is
# rejected with the database's words and the others land. Any other error fails the run.
REFUSED_ORDER = (psycopg.IntegrityError, psycopg.DataError, IntegrityError, DataError)
NOT_READ = "not read"            # order_files.sha256 of a file refused before reading (too large)
MTIME_SLACK = 0.001              # seconds: an mtime recorded through a datetime keeps microseconds only


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
    cut_off: bool = False                    # unreadable because it ends too early: taken again if it changes
    received: tuple[int, float] | None = None  # size and mtime as read (what "changed" is measured against)
    inbox_name: str | None = None            # the name in the inbox when it is not valid text (file_name shows it)

    @property
    def total(self) -> int:
        return self.applied + self.skipped + self.flagged + self.rejected + self.conflicts

    @property
    def quarantined(self) -> bool:
        return self.unreadable is not None or self.rejected > 0

    def summary_line(self) -> str:
        shown = printable_name(self.file_name)
        if self.unreadable:
            return f"{shown}: QUARANTINED, unreadable: {self.unreadable}"
        where = "quarantined" if self.quarantined else "archived"
        conflicts = f", {self.conflicts} sent again with other content (conflicts)" if self.conflicts else ""
        return (f"{shown} ({self.format}): {self.applied} applied, {self.skipped} skipped as already "
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
            **({"taken_again_when_changed": {
                "size": self.received[0],
                "mtime": datetime.fromtimestamp(self.received[1], UTC).isoformat()}}
               if self.cut_off and self.received else {}),
            "what_to_do": (
                "Fix the rejected orders (or the whole file) and put the file back into the inbox, or run "
                "`shopsync replay --shop <shop> <name in quarantine> [--fixed FILE]`: orders that already landed "
                "are recognised by their order number and are not created twice."
                + (" This file looked cut off: if its upload was still going on, it is taken again by itself "
                   "once the copy in quarantine changes." if self.cut_off else "")
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
        existing = conn.execute(sql_statement("orders/find_processing_file.sql"),
                                {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar()
        if existing is not None:
            return existing
        return conn.execute(sql_statement("orders/insert_order_file.sql"),
                            {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar_one()


def _finish_file_record(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("orders/finish_order_file.sql"), {
            "id": outcome.file_id, "format": outcome.format,
            "status": "quarantined" if outcome.quarantined else "archived",
            "orders_total": outcome.total, "applied": outcome.applied, "skipped": outcome.skipped,
            "flagged": outcome.flagged, "rejected": outcome.rejected, "conflicts": outcome.conflicts,
            "details": json.dumps({"unreadable": outcome.unreadable, "orders": outcome.orders}, ensure_ascii=False),
        })


def utf8_safe(text: str) -> str:
    """Text any UTF-8 column can hold: a lone surrogate (from a JSON escape or a file name) becomes '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


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
            except sa.exc.DBAPIError as exc:    # also an index row too large: this order's, unless the connection's
                if is_environment_fault(exc):
                    raise
                yield exc


def _record(outcome: FileOutcome, order: Order, position: int, result: ApplyResult | Exception) -> None:
    if isinstance(result, Exception):
        if not isinstance(result, REFUSED_ORDER) and is_environment_fault(result):
            raise result        # not about this order (connection, deadlock): the file stays in the inbox
        said = describe(getattr(result, "orig", None) or result)
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
    if not dry_run:
        outcome.file_id = _start_file_record(engine, shop.id, file_name, outcome.sha256)
    _parse_and_apply(engine, shop, outcome, data, today, dry_run)
    if not dry_run:
        _finish_file_record(engine, outcome)
    return outcome


def _parse_and_apply(engine: Engine, shop: ShopSettings, outcome: FileOutcome, data: bytes,
                     today: date | None, dry_run: bool) -> None:
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
        _apply_parsed(engine, shop, parsed, outcome, warehouses, today, dry_run)


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
    """Process every ready file of the shop's inbox, oldest first.

    One file never blocks the others: whatever goes wrong with one file's content, name or size ends with
    that file quarantined with the reason, and the run goes on. Only a fault of the environment (see
    shopsync.orders.faults) fails the run, leaving the file for the next one; a file that keeps failing is
    quarantined after MAX_ATTEMPTS runs.
    """
    summary = IngestSummary()
    take_back_changed_cut_off_files(engine, shop, inbox)
    for entry in inbox.list_ready(now, settle_log=DatabaseSettleLog(engine, shop.id)):
        outcome = _ingest_inbox_file(engine, shop, inbox, entry)
        if outcome is None:
            continue
        log.info(outcome.summary_line())
        summary.files.append(outcome)
    return summary


def _ingest_inbox_file(engine: Engine, shop: ShopSettings, inbox, entry: InboxFile) -> FileOutcome | None:
    """One ready inbox file, start to end: read (bounded), record, parse and apply, archive or quarantine."""
    shown = printable_name(entry.name)
    read_error: InboxError | None = None
    try:
        data = None if entry.size > MAX_FILE_BYTES else inbox.read(entry.name, MAX_FILE_BYTES)
    except (NotRegularFile, FileVanished) as exc:
        log.warning("%s: %s; skipped", inbox.description, exc)
        return None
    except FileTooLarge:
        data = None
    except InboxError as exc:   # this file could not be read (after retries) while the listing could
        data, read_error = None, exc
    outcome = FileOutcome(file_name=shown, sha256=NOT_READ if data is None else sha256_of(data),
                          inbox_name=entry.name)
    outcome.file_id = _start_file_record(engine, shop.id, shown, outcome.sha256)
    attempts, last_error = _count_attempt(engine, outcome.file_id)
    if read_error is not None and attempts <= MAX_ATTEMPTS:
        _note_error(engine, outcome.file_id, describe(read_error))
        raise read_error
    if read_error is not None:
        outcome.unreadable = (f"the file could not be read in {attempts - 1} runs ({last_error}); it is set "
                              "aside so that the files after it can land")
    elif data is None:
        outcome.unreadable = (f"the file is too large: {entry.size / 2**20:.1f} MB or more, the limit is "
                              f"{MAX_FILE_BYTES // 2**20} MB; it was not read (send the orders in smaller files)")
    elif shown != entry.name:
        outcome.unreadable = ("the file name is not valid UTF-8 text; rename the file (letters, digits, '-', '_') and "
                              "put it back into the inbox")
    elif attempts > MAX_ATTEMPTS:
        outcome.unreadable = (
            f"this file was started {attempts - 1} times and no attempt finished (last error: "
            f"{last_error or 'none recorded: the run was stopped, e.g. killed or out of memory'}); it is set "
            "aside so that the files after it can land")
    else:
        _process_guarded(engine, shop, outcome, data)
    _finish_file_record(engine, outcome)
    if outcome.cut_off:
        outcome.received = (len(data or b""), entry.mtime.timestamp())
        _remember_cut_off(engine, outcome, *outcome.received)
    _file_away(engine, inbox, outcome)
    return outcome


def _process_guarded(engine: Engine, shop: ShopSettings, outcome: FileOutcome, data: bytes) -> None:
    """Parse and apply; an error that is the file's own quarantines it, one of the environment's fails the run."""
    try:
        _parse_and_apply(engine, shop, outcome, data, None, dry_run=False)
    except Exception as exc:
        if is_environment_fault(exc):
            _note_error(engine, outcome.file_id, describe(exc))
            raise
        log.exception("%s: %s could not be processed", shop.id, outcome.file_name)
        outcome.unreadable = (f"the file could not be processed ({describe(exc)}); orders that landed before "
                              "the error stay, and are recognised by their number when the file is replayed")


def _count_attempt(engine: Engine, file_id: int) -> tuple[int, str | None]:
    with engine.begin() as conn:
        row = conn.execute(sql_statement("orders/start_file_attempt.sql"), {"id": file_id}).one()
    return row.attempts, row.last_error


def _note_error(engine: Engine, file_id: int | None, error: str) -> None:
    """Best effort: the database may be the thing that failed."""
    try:
        with engine.begin() as conn:
            conn.execute(sql_statement("orders/record_file_error.sql"), {"id": file_id, "last_error": utf8_safe(error)})
    except Exception:  # noqa: BLE001 - the run fails with the original error anyway
        log.warning("could not record the error of order file %s", file_id)


def _remember_cut_off(engine: Engine, outcome: FileOutcome, size: int, mtime: float) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("orders/record_cut_off.sql"), {"id": outcome.file_id, "size": size, "mtime": mtime})


def take_back_changed_cut_off_files(engine: Engine, shop: ShopSettings, inbox) -> list[str]:
    """Files quarantined as cut off whose copy in quarantine changed since (the upload went on): moved back
    into the inbox, to be taken like new files once they settle. Returns their inbox names."""
    with engine.connect() as conn:
        suspects = conn.execute(sql_statement("orders/cut_off_files.sql"), {"shop_id": shop.id}).all()
    if not suspects:
        return []
    present = inbox.quarantined_entries()
    taken = []
    for row in suspects:
        name = row.stored_as.removeprefix("quarantine/")
        entry: RemoteEntry | None = present.get(name)
        if entry is not None and entry.size == row.cut_off_size and abs(entry.mtime - row.cut_off_mtime) < MTIME_SLACK:
            continue
        if entry is not None:
            taken.append(inbox.take_back(name))
            log.warning("%s: %s changed in quarantine since it was set aside as cut off; taken again as %s",
                        shop.id, row.stored_as, taken[-1])
        with engine.begin() as conn:
            conn.execute(sql_statement("orders/mark_retaken.sql"), {"id": row.id})
    return taken


class DatabaseSettleLog:
    """Since when each inbox file has had its size and mtime, kept in inbox_sightings between runs."""

    def __init__(self, engine: Engine, shop_id: str) -> None:
        self.engine, self.shop_id = engine, shop_id

    def steady(self, entries: list[RemoteEntry], now: float, settle_seconds: float) -> set[str]:
        moment = datetime.fromtimestamp(now, UTC)
        steady: set[str] = set()
        with self.engine.begin() as conn:
            sightings = conn.execute(sql_statement("orders/inbox_sightings.sql"), {"shop_id": self.shop_id})
            known = {row.name: row for row in sightings}
            for entry in entries:
                key = printable_name(entry.name)
                seen = known.get(key)
                if seen is not None and (seen.size, seen.mtime) == (entry.size, entry.mtime):
                    if (moment - seen.first_seen).total_seconds() >= settle_seconds:
                        steady.add(entry.name)
                    continue
                conn.execute(sql_statement("orders/upsert_inbox_sighting.sql"), {
                    "shop_id": self.shop_id, "name": key, "size": entry.size, "mtime": entry.mtime,
                    "first_seen": moment})
                if settle_seconds <= 0:
                    steady.add(entry.name)
            conn.execute(sql_statement("orders/forget_inbox_sightings.sql"), {
                "shop_id": self.shop_id, "names": [printable_name(entry.name) for entry in entries]})
        return steady


def _file_away(engine: Engine, inbox, outcome: FileOutcome) -> None:
    """Move a processed file to archive/ or (with its error report) quarantine/, and record where it went."""
    name = outcome.inbox_name or outcome.file_name
    if outcome.quarantined:
        outcome.destination = printable_name(inbox.quarantine(name, outcome.error_report()))
    else:
        outcome.destination = printable_name(inbox.archive(name))
    _record_location(engine, outcome)


def _record_location(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(
            sql_statement("orders/set_order_file_location.sql"),
            {"id": outcome.file_id, "stored_as": outcome.destination},
        )


def reapply_interval(engine: Engine, shop: ShopSettings, inbox, start: datetime, end: datetime) -> IngestSummary:
    """Re-apply the archived files received in [start, end): present orders skip, missing ones land."""
    summary = IngestSummary()
    for receipt in files_received_between(engine, shop.id, start, end):
        try:
            data = inbox.store.read(receipt.stored_as, MAX_FILE_BYTES)
        except UnsuitableFile as exc:
            log.warning("%s: archived file %s cannot be re-applied: %s", shop.id, receipt.stored_as, exc)
            continue
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
        return conn.execute(sql_statement("orders/files_received_between.sql"),
                            {"shop_id": shop_id, "start": start, "end": end}).all()


class ReplayRefused(PermanentError):
    """`shopsync replay` was given something that is not a file in the shop's quarantine."""


def replay_quarantined(engine: Engine, shop: ShopSettings, inbox, name: str,
                       fixed_content: bytes | None = None) -> FileOutcome:
    """Apply a quarantined file again (after fixing it): orders that already landed are skipped by number.

    `name` must be the plain name of a regular file in the inbox's quarantine/ (no path, no "..", not a
    report, not a symlink). The file (or its fixed content) is put back into the inbox (under a free name
    there), its old error report removed, and it is processed at once like any new file: archived when
    every order lands, quarantined again otherwise.
    """
    _check_quarantined(inbox, name)
    quarantined = f"{QUARANTINE_DIR}/{name}"
    try:
        data = fixed_content if fixed_content is not None else inbox.store.read(quarantined, MAX_FILE_BYTES)
    except UnsuitableFile as exc:
        raise ReplayRefused(f"{printable_name(name)}: {exc}") from None
    if data is None:
        raise ReplayRefused(f"{printable_name(name)}: no such file in the quarantine of {inbox.description}")
    target = next(free for free in free_name_candidates(name, datetime.now(UTC)) if not inbox.store.exists(free))
    inbox.store.write_atomic(target, io.BytesIO(data))
    inbox.store.remove(quarantined)
    if inbox.store.exists(quarantined + REPORT_SUFFIX):
        inbox.store.remove(quarantined + REPORT_SUFFIX)
    outcome = ingest_bytes(engine, shop, printable_name(target), data)
    outcome.inbox_name = target
    _file_away(engine, inbox, outcome)
    return outcome


def _check_quarantined(inbox, name: str) -> None:
    plain = (name and name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name
             and not name.startswith(".") and not name.endswith(REPORT_SUFFIX))
    if not plain:
        raise ReplayRefused(f"{printable_name(name)!r} is not a file name in the quarantine: give the plain name "
                            "as listed in quarantine/ (no directory, no '..', not the .error.json report)")
    entry = inbox.quarantined_entries().get(name)
    if entry is None:
        raise ReplayRefused(f"{printable_name(name)}: no such file in the quarantine of {inbox.description}")
    if not entry.is_file:
        raise ReplayRefused(f"{printable_name(name)}: not a regular file (a symlink, FIFO or directory); "
                            "it is not replayed")
