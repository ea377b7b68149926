"""The order_files row of each received file: started (or re-used after a killed run), its attempts and last
error counted, finished with the counts, where the file went, the size and mtime of a cut-off file; and the
archived receipts of an interval (what a backfill re-applies).

Callers reach these through the module (`file_records.start_file_record(...)`), so that a test can wrap one
of them for every caller at once (tests/orders/test_ingest_fault_matrix.py kills the run inside them).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.sql import sql_statement
from shopsync.orders.outcome import FileOutcome

log = logging.getLogger(__name__)


def utf8_safe(text: str) -> str:
    """Text any UTF-8 column can hold: a lone surrogate (from a JSON escape or a file name) becomes '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def start_file_record(engine: Engine, shop_id: str, file_name: str, digest: str) -> int:
    """The order_files row of this receipt; a run killed half way re-uses its 'processing' row."""
    with engine.begin() as conn:
        existing = conn.execute(sql_statement("orders/find_processing_file.sql"),
                                {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar()
        if existing is not None:
            return existing
        return conn.execute(sql_statement("orders/insert_order_file.sql"),
                            {"shop_id": shop_id, "file_name": file_name, "sha256": digest}).scalar_one()


def count_attempt(engine: Engine, file_id: int) -> tuple[int, str | None]:
    """One more run started this file: its attempts so far (this one included) and the last error recorded."""
    with engine.begin() as conn:
        row = conn.execute(sql_statement("orders/start_file_attempt.sql"), {"id": file_id}).one()
    return row.attempts, row.last_error


def note_error(engine: Engine, file_id: int | None, error: str) -> None:
    """Best effort: the database may be the thing that failed."""
    try:
        with engine.begin() as conn:
            conn.execute(sql_statement("orders/record_file_error.sql"), {"id": file_id, "last_error": utf8_safe(error)})
    except Exception:  # noqa: BLE001 - the run fails with the original error anyway
        log.warning("could not record the error of order file %s", file_id)


def finish_file_record(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("orders/finish_order_file.sql"), {
            "id": outcome.file_id, "format": outcome.format,
            "status": "quarantined" if outcome.quarantined else "archived",
            "orders_total": outcome.total, "applied": outcome.applied, "skipped": outcome.skipped,
            "flagged": outcome.flagged, "rejected": outcome.rejected, "conflicts": outcome.conflicts,
            "details": json.dumps({"unreadable": outcome.unreadable, "orders": outcome.orders}, ensure_ascii=False),
        })


def remember_cut_off(engine: Engine, outcome: FileOutcome, size: int, mtime: float) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("orders/record_cut_off.sql"), {"id": outcome.file_id, "size": size, "mtime": mtime})


def record_location(engine: Engine, outcome: FileOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(
            sql_statement("orders/set_order_file_location.sql"),
            {"id": outcome.file_id, "stored_as": outcome.destination},
        )


def files_received_between(engine: Engine, shop_id: str, start: datetime, end: datetime) -> list[sa.Row]:
    """Archived receipts of an interval: what a backfill of the ingest DAG re-applies."""
    with engine.connect() as conn:
        return conn.execute(sql_statement("orders/files_received_between.sql"),
                            {"shop_id": shop_id, "start": start, "end": end}).all()
