"""Files taken again after their first run: a quarantined file replayed (`shopsync replay`, after a fix) and
the archived files of an interval re-applied (a backfill of the ingest DAG). Orders that already landed are
recognised by their order number and skipped; the others land."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings
from shopsync.core.errors import PermanentError
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.orders import file_records
from shopsync.orders.apply_file import ingest_bytes
from shopsync.orders.formats import MAX_FILE_BYTES
from shopsync.orders.inbox import QUARANTINE_DIR, REPORT_SUFFIX, Inbox, free_name_candidates, printable_name
from shopsync.orders.ingest import file_away
from shopsync.orders.outcome import FileOutcome, IngestSummary
from shopsync.transport.base import UnsuitableFile

log = logging.getLogger(__name__)


def reapply_interval(engine: Engine, shop: ShopSettings, inbox: Inbox, start: datetime, end: datetime, *,
                     tuning: Tuning = DEFAULT_TUNING) -> IngestSummary:
    """Re-apply the archived files received in [start, end): present orders skip, missing ones land."""
    summary = IngestSummary()
    for receipt in file_records.files_received_between(engine, shop.id, start, end):
        try:
            data = inbox.store.read(receipt.stored_as, MAX_FILE_BYTES)
        except UnsuitableFile as exc:
            log.warning("%s: archived file %s cannot be re-applied: %s", shop.id, receipt.stored_as, exc)
            continue
        if data is None:
            log.warning("%s: archived file %s is gone; cannot re-apply it", shop.id, receipt.stored_as)
            continue
        outcome = ingest_bytes(engine, shop, receipt.file_name, data, tuning=tuning)
        outcome.destination = receipt.stored_as
        file_records.record_location(engine, outcome)
        log.info("re-applied %s", outcome.summary_line())
        summary.files.append(outcome)
    return summary


class ReplayRefused(PermanentError):
    """`shopsync replay` was given something that is not a file in the shop's quarantine."""


def replay_quarantined(engine: Engine, shop: ShopSettings, inbox: Inbox, name: str,
                       fixed_content: bytes | None = None, *, tuning: Tuning = DEFAULT_TUNING) -> FileOutcome:
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
    outcome = ingest_bytes(engine, shop, printable_name(target), data, tuning=tuning)
    outcome.inbox_name = target
    file_away(engine, inbox, outcome)
    return outcome


def _check_quarantined(inbox: Inbox, name: str) -> None:
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
