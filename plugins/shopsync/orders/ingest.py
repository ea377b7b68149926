"""Ingest order files: parse -> apply each order in its own transaction -> archive or quarantine.

The same code runs in the DAG and in `shopsync ingest`. Nothing is lost: a file
leaves the inbox only after every order in it has either landed (applied,
flagged or skipped as already present) or been written into the quarantine
report with its reason. Nothing is doubled: invoices are insert-or-skip on
(shop, external order number), so re-running a file, or a run killed half way
through one, applies each order once. Nothing is silently dropped either: an
order number that arrives again with other content is a "conflict" (recorded
with both versions, the first one kept), counted and listed in the summary.

This module is the run over the inbox; one file's bytes go through shopsync.orders.apply_file, its
order_files row through shopsync.orders.file_records, what became of it is a shopsync.orders.outcome
FileOutcome, and files taken again (replay, backfill) are shopsync.orders.replay's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings
from shopsync.core.sql import sql_statement
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.orders import file_records
from shopsync.orders.apply_file import parse_and_apply
from shopsync.orders.faults import describe, is_environment_fault
from shopsync.orders.formats import MAX_FILE_BYTES
from shopsync.orders.inbox import FileVanished, Inbox, InboxError, InboxFile, printable_name
from shopsync.orders.outcome import NOT_READ, FileOutcome, IngestSummary, sha256_of
from shopsync.orders.settle_log import DatabaseSettleLog
from shopsync.transport.base import FileTooLarge, NotRegularFile, RemoteEntry

log = logging.getLogger(__name__)
MTIME_SLACK = 0.001              # seconds: an mtime recorded through a datetime keeps microseconds only


def ingest_inbox(engine: Engine, shop: ShopSettings, inbox: Inbox, *, now: datetime | None = None,
                 tuning: Tuning = DEFAULT_TUNING) -> IngestSummary:
    """Process every ready file of the shop's inbox, oldest first.

    One file never blocks the others: whatever goes wrong with one file's content, name or size ends with
    that file quarantined with the reason, and the run goes on. Only a fault of the environment (see
    shopsync.orders.faults) fails the run, leaving the file for the next one; a file that keeps failing is
    quarantined after tuning.order_file_attempts runs.
    """
    summary = IngestSummary()
    take_back_changed_cut_off_files(engine, shop, inbox)
    for entry in inbox.list_ready(now, settle_log=DatabaseSettleLog(engine, shop.id)):
        outcome = _ingest_inbox_file(engine, shop, inbox, entry, tuning)
        if outcome is None:
            continue
        log.info(outcome.summary_line())
        summary.files.append(outcome)
    return summary


def _ingest_inbox_file(engine: Engine, shop: ShopSettings, inbox: Inbox, entry: InboxFile,
                       tuning: Tuning) -> FileOutcome | None:
    """One ready inbox file, start to end: read (bounded), record, parse and apply, archive or quarantine."""
    shown = printable_name(entry.name)
    try:
        data, read_error = _read_within_limit(inbox, entry)
    except (NotRegularFile, FileVanished) as exc:
        log.warning("%s: %s; skipped", inbox.description, exc)
        return None
    outcome = FileOutcome(file_name=shown, sha256=NOT_READ if data is None else sha256_of(data),
                          inbox_name=entry.name)
    outcome.file_id = file_records.start_file_record(engine, shop.id, shown, outcome.sha256)
    attempts, last_error = file_records.count_attempt(engine, outcome.file_id)
    if read_error is not None and attempts <= tuning.order_file_attempts:
        file_records.note_error(engine, outcome.file_id, describe(read_error))
        raise read_error
    outcome.unreadable = _why_set_aside(entry, data, read_error, attempts, last_error, tuning)
    if outcome.unreadable is None:
        _process_guarded(engine, shop, outcome, data, tuning)
    file_records.finish_file_record(engine, outcome)
    if outcome.cut_off:
        outcome.received = (len(data or b""), entry.mtime.timestamp())
        file_records.remember_cut_off(engine, outcome, *outcome.received)
    file_away(engine, inbox, outcome)
    return outcome


def _read_within_limit(inbox: Inbox, entry: InboxFile) -> tuple[bytes | None, InboxError | None]:
    """The file's bytes, or None when it is over the size limit (not read) or could not be read (the error,
    after retries, while the listing could). NotRegularFile and FileVanished propagate: the file is skipped."""
    try:
        return (None if entry.size > MAX_FILE_BYTES else inbox.read(entry.name, MAX_FILE_BYTES)), None
    except (NotRegularFile, FileVanished):
        raise
    except FileTooLarge:
        return None, None
    except InboxError as exc:
        return None, exc


def _why_set_aside(entry: InboxFile, data: bytes | None, read_error: InboxError | None, attempts: int,
                   last_error: str | None, tuning: Tuning) -> str | None:
    """Why the file is quarantined without being parsed (None: parse and apply it)."""
    if read_error is not None:
        return (f"the file could not be read in {attempts - 1} runs ({last_error}); it is set "
                "aside so that the files after it can land")
    if data is None:
        return (f"the file is too large: {entry.size / 2**20:.1f} MB or more, the limit is "
                f"{MAX_FILE_BYTES // 2**20} MB; it was not read (send the orders in smaller files)")
    if printable_name(entry.name) != entry.name:
        return ("the file name is not valid UTF-8 text; rename the file (letters, digits, '-', '_') and "
                "put it back into the inbox")
    if attempts > tuning.order_file_attempts:
        return (f"this file was started {attempts - 1} times and no attempt finished (last error: "
                f"{last_error or 'none recorded: the run was stopped, e.g. killed or out of memory'}); it is set "
                "aside so that the files after it can land")
    return None


def _process_guarded(engine: Engine, shop: ShopSettings, outcome: FileOutcome, data: bytes, tuning: Tuning) -> None:
    """Parse and apply; an error that is the file's own quarantines it, one of the environment's fails the run."""
    try:
        parse_and_apply(engine, shop, outcome, data, tuning=tuning)
    except Exception as exc:
        if is_environment_fault(exc):
            file_records.note_error(engine, outcome.file_id, describe(exc))
            raise
        log.exception("%s: %s could not be processed", shop.id, outcome.file_name)
        outcome.unreadable = (f"the file could not be processed ({describe(exc)}); orders that landed before "
                              "the error stay, and are recognised by their number when the file is replayed")


def take_back_changed_cut_off_files(engine: Engine, shop: ShopSettings, inbox: Inbox) -> list[str]:
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


def file_away(engine: Engine, inbox: Inbox, outcome: FileOutcome) -> None:
    """Move a processed file to archive/ or (with its error report) quarantine/, and record where it went."""
    name = outcome.inbox_name or outcome.file_name
    if outcome.quarantined:
        outcome.destination = printable_name(inbox.quarantine(name, outcome.error_report()))
    else:
        outcome.destination = printable_name(inbox.archive(name))
    file_records.record_location(engine, outcome)
