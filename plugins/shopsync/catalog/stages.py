"""Catalog export stages: the functions the DAG tasks and `shopsync export` call, in order.

extract_dataset -> resize_photos -> merge_dataset -> build_feeds -> validate_feeds -> publish_feeds

Each stage reads and writes files in the shop's workspace (see workspace.py) and
returns a small JSON-able dict (what Airflow passes between tasks as XCom).

The data interval decides what is re-read: changes since the start of the
interval (or since the last merge, whichever is earlier) minus a small overlap.
The feeds always show the database as it is when the run reads it: publishing
an older state of stock to a shop would oversell.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.catalog import extract, snapshot
from shopsync.catalog.workspace import ShopWorkspace, read_json, run_key, write_json
from shopsync.config import ShopSettings

DATASETS = ("goods", "customers", "certificates")
ENTITY_OF = {"goods": "good", "customers": "customer", "certificates": "certificate"}
SCHEMA_OF = {
    "goods": snapshot.GOODS_SCHEMA,
    "customers": snapshot.CUSTOMERS_SCHEMA,
    "certificates": snapshot.CERTIFICATES_SCHEMA,
}
FAR_FUTURE = datetime(9999, 1, 1).astimezone()


def extract_overlap() -> timedelta:
    """How far before the window an incremental extract starts (commit lag of long transactions)."""
    return timedelta(seconds=int(os.environ.get("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "60")))


@dataclass(frozen=True)
class ExportRun:
    shop: ShopSettings
    interval_start: datetime
    interval_end: datetime
    full: bool = False

    @property
    def key(self) -> str:
        return run_key(self.interval_end)

    @property
    def workspace(self) -> ShopWorkspace:
        return ShopWorkspace(self.shop.id)


def _elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _is_full(run: ExportRun, dataset: str) -> bool:
    merged_until = run.workspace.read_state().get(dataset, {}).get("merged_until")
    return run.full or merged_until is None or not run.workspace.snapshot(dataset).exists()


def _window_start(run: ExportRun, dataset: str) -> datetime:
    merged_until = datetime.fromisoformat(run.workspace.read_state()[dataset]["merged_until"])
    return min(run.interval_start, merged_until) - extract_overlap()


def _dataset_records(conn: sa.Connection, run: ExportRun, dataset: str, scope: extract.Scope):
    if dataset == "goods":
        warehouses = extract.shop_warehouses(conn, run.shop.warehouses)
        return extract.goods_records(conn, scope, run.shop.currency, warehouses)
    if dataset == "customers":
        return extract.customer_records(conn, scope)
    return extract.certificate_records(conn, scope)


def extract_dataset(engine: Engine, run: ExportRun, dataset: str) -> dict:
    """Read one data set (all, or what changed) into the run's changes/<dataset>.parquet."""
    started = time.perf_counter()
    full = _is_full(run, dataset)
    conn = extract.consistent_read(engine)
    try:
        extracted_at = conn.execute(sa.text("SELECT now()")).scalar_one()
        ids = None if full else extract.changed_ids(conn, ENTITY_OF[dataset], _window_start(run, dataset), FAR_FUTURE)
        scope = extract.Scope(ids)
        rows = snapshot.write_records(
            run.workspace.changes(run.key, dataset), _dataset_records(conn, run, dataset, scope), SCHEMA_OF[dataset]
        )
    finally:
        conn.rollback()
        conn.close()
    write_json(run.workspace.changed_ids_path(run.key, dataset), {
        "mode": "full" if full else "incremental",
        "ids": ids,
        "extracted_at": extracted_at.isoformat(),
    })
    return {
        "dataset": dataset, "mode": "full" if full else "incremental",
        "changed": rows if full else len(ids or []), "rows_read": rows, "seconds": _elapsed(started),
    }


def extract_categories(engine: Engine, run: ExportRun) -> dict:
    """The classifier is small: read it whole every run."""
    started = time.perf_counter()
    with engine.connect() as conn:
        records = extract.category_records(conn, run.shop.category_map_key)
    write_json(categories_path(run), records)
    return {"dataset": "categories", "rows_read": len(records), "seconds": _elapsed(started)}


def categories_path(run: ExportRun):
    return run.workspace.run_dir(run.key) / "changes" / "categories.json"


def merge_dataset(run: ExportRun, dataset: str, enrich=None) -> dict:
    """Fold the run's changes into the shop's snapshot (replace for a full extract)."""
    started = time.perf_counter()
    ws = run.workspace
    meta = read_json(ws.changed_ids_path(run.key, dataset))
    changes = ws.changes(run.key, dataset)
    if enrich is not None:
        enrich(changes)
    with ws.lock():
        if meta["mode"] == "full":
            ws.snapshot(dataset).parent.mkdir(parents=True, exist_ok=True)
            os.replace(changes, ws.snapshot(dataset))
            stats = snapshot.MergeStats(kept=0, replaced=0, added=snapshot.row_count(ws.snapshot(dataset)), removed=0)
        else:
            stats = snapshot.merge(ws.snapshot(dataset), changes, meta["ids"], SCHEMA_OF[dataset])
        state = ws.read_state()
        previous = state.get(dataset, {}).get("merged_until")
        extracted_at = datetime.fromisoformat(meta["extracted_at"])
        merged_until = extracted_at if previous is None else max(datetime.fromisoformat(previous), extracted_at)
        ws.update_state(**{dataset: {"merged_until": merged_until.isoformat()}})
    return {
        "dataset": dataset, "mode": meta["mode"], "total": stats.total, "replaced": stats.replaced,
        "added": stats.added, "removed": stats.removed, "seconds": _elapsed(started),
    }
