"""What a run reads from the accounting database and how it joins the shop's snapshot: the extract window, whether
a data set must be read whole (and why), the extract into the run's changes/, the merge into the snapshot, and
the marks in the workspace state (merged_until, published_until, force_full) that the next run starts from.

The data interval decides what is re-read: changes since the start of the interval (or since the last publish,
whichever is earlier) minus a small overlap. The feeds always show the database as it is when the run reads it:
publishing an older state of stock to a shop would oversell.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.catalog import extract, identity, snapshot
from shopsync.catalog.guards import StaleDataError
from shopsync.catalog.position import is_older
from shopsync.catalog.run import (
    DATASETS,
    ENTITY_OF,
    FAR_FUTURE,
    ExportRun,
    categories_path,
    category_maps_path,
    extract_overlap,
)
from shopsync.catalog.run_files import ChangesMeta, read_changes, write_changes
from shopsync.catalog.workspace import write_json
from shopsync.core.sql import sql_statement
from shopsync.runtime.memory import gc_paused
from shopsync.stock import shop_warehouses

SCHEMA_OF = {
    "goods": snapshot.GOODS_SCHEMA,
    "customers": snapshot.CUSTOMERS_SCHEMA,
    "certificates": snapshot.CERTIFICATES_SCHEMA,
}


# --- full or incremental, and from when ----------------------------------------------------------------------

def is_full(run: ExportRun, dataset: str) -> bool:
    """Whether the data set is read whole without asking the database (asked for, or no usable snapshot)."""
    merged_until = run.workspace.read_state().get(dataset, {}).get("merged_until")
    return run.full or merged_until is None or not snapshot.has_schema(run.workspace.snapshot(dataset),
                                                                       SCHEMA_OF[dataset])


def full_reason(run: ExportRun, dataset: str, settings: str, source: dict) -> str | None:
    """Why this data set must be extracted whole (None: what changed is enough); see identity.py."""
    if run.full:
        return "asked for"
    if is_full(run, dataset):
        return "no usable snapshot yet"
    return identity.full_rebuild_reason(run.workspace.read_state()[dataset], settings, source)


def window_start(run: ExportRun, dataset: str) -> datetime:
    """Changes are read again from the last publish (or merge, before any), so the changes of a run that was
    merged but never published (blocked by validation) are in the next run's delta too."""
    recorded = run.workspace.read_state()[dataset]
    mark = datetime.fromisoformat(recorded.get("published_until") or recorded["merged_until"])
    return min(run.interval_start, mark) - extract_overlap()


def _changed_ids(conn: sa.Connection, dataset: str, since: datetime) -> list[int]:
    if dataset == "goods":
        return extract.changed_good_ids(conn, since, FAR_FUTURE)
    return extract.changed_ids(conn, ENTITY_OF[dataset], since, FAR_FUTURE)


# --- extract -------------------------------------------------------------------------------------------------

def extract_changes(engine: Engine, run: ExportRun, dataset: str) -> tuple[ChangesMeta, int]:
    """Read one data set (all, or what changed) into the run's changes/<dataset>.arrow, in one consistent read;
    returns what was read (also written to changes/<dataset>.ids.json) and the rows written."""
    conn = extract.consistent_read(engine)
    try:
        extracted_at, position = conn.execute(sql_statement("extract/read_position.sql")).one()
        warehouses = shop_warehouses(conn, run.shop.warehouses)
        source = identity.database_identity(conn)
        settings = identity.content_fingerprint(run.shop, warehouses)
        reason = full_reason(run, dataset, settings, source)
        ids = None if reason is not None else _changed_ids(conn, dataset, window_start(run, dataset))
        rows = _write_changes(conn, run, dataset, extract.Scope(ids), warehouses)
    finally:
        conn.rollback()
        conn.close()
    meta = ChangesMeta(mode="full" if reason is not None else "incremental",
                       ids=None if ids is None else tuple(ids), extracted_at=extracted_at, position=position,
                       full_reason=reason, content_settings=settings, database=source)
    write_changes(run, dataset, meta)
    return meta, rows


def _write_changes(conn: sa.Connection, run: ExportRun, dataset: str, scope: extract.Scope,
                   warehouses: list[int]) -> int:
    changes = run.workspace.changes(run.key, dataset)
    if dataset == "goods":          # COPY per chunk of goods into Arrow batches (extract.goods_batches)
        batches = extract.goods_batches(conn, scope, run.shop.currency, warehouses, run.tuning)
        try:
            return snapshot.write_batches(changes, batches, SCHEMA_OF[dataset], run.tuning)
        finally:
            batches.close()         # its read-ahead thread is done with the connection before the rollback
    with gc_paused():
        return snapshot.write_records(changes, _dataset_records(conn, run, dataset, scope), SCHEMA_OF[dataset],
                                      run.tuning)


def _dataset_records(conn: sa.Connection, run: ExportRun, dataset: str, scope: extract.Scope) -> Iterator[dict]:
    if dataset == "customers":
        return extract.customer_records(conn, scope, run.tuning)
    return extract.certificate_records(conn, scope, run.tuning)


def extract_category_records(engine: Engine, run: ExportRun) -> int:
    """The classifier is small: read it whole every run (into the run's changes/categories.json), with the
    shop-level map, and each marketplace's own map the shop's feeds read (changes/category_maps.json)."""
    with engine.connect() as conn:
        records = extract.category_records(conn, run.shop.category_map_key)
        maps = {channel: extract.category_map(conn, run.shop.channel_map_key(channel))
                for channel in run.shop.map_channels}
    write_json(categories_path(run), records)
    write_json(category_maps_path(run), {channel: {str(k): v for k, v in rows.items()}
                                         for channel, rows in maps.items()})
    return len(records)


# --- merge ---------------------------------------------------------------------------------------------------

def merge_changes(run: ExportRun, dataset: str) -> tuple[ChangesMeta, snapshot.MergeStats]:
    """Fold the run's changes into the shop's snapshot (replace it for a full extract) and record the new state."""
    ws = run.workspace
    meta = _extracted(run, dataset)
    changes = ws.changes(run.key, dataset)
    with ws.lock():
        recorded = ws.read_state().get(dataset, {})
        _refuse_older_merge(run, dataset, meta.position, recorded.get("position"))
        if meta.incremental:
            stats = snapshot.merge(ws.snapshot(dataset), changes, meta.ids or (), SCHEMA_OF[dataset], run.tuning)
        else:
            _replace_keeping_source(changes, ws.snapshot(dataset))
            ws.snapshot(dataset).with_suffix(".parquet").unlink(missing_ok=True)   # the layout before Arrow IPC
            stats = snapshot.MergeStats(kept=0, replaced=0, added=snapshot.row_count(ws.snapshot(dataset)), removed=0)
        token = secrets.token_hex(8)      # names this state of the snapshot (see render/cache.py)
        ws.update_state(**{dataset: _merged_state(ws.read_state().get(dataset, {}), meta, token)})
    merged = dataclasses.replace(meta, previous_snapshot_token=recorded.get("snapshot_token"), snapshot_token=token)
    write_changes(run, dataset, merged)
    return merged, stats


def _extracted(run: ExportRun, dataset: str) -> ChangesMeta:
    meta = read_changes(run, dataset)
    if meta is None:
        raise FileNotFoundError(run.workspace.changed_ids_path(run.key, dataset))
    return meta


def _merged_state(recorded: dict, meta: ChangesMeta, token: str) -> dict:
    """The data set's workspace state after a merge: what the snapshot now holds and was read with and from
    (identity.py); the publish mark stays, and a full merge clears a forced rebuild."""
    previous = recorded.get("merged_until")
    merged_until = meta.extracted_at if previous is None else max(datetime.fromisoformat(previous), meta.extracted_at)
    return {
        "merged_until": merged_until.isoformat(), "snapshot_token": token, "position": meta.position,
        "content_settings": meta.content_settings, "database": meta.database,
        **({"published_until": recorded["published_until"]} if recorded.get("published_until") else {}),
        **({"force_full": recorded["force_full"]} if recorded.get("force_full") and meta.incremental else {}),
    }


def _refuse_older_merge(run: ExportRun, dataset: str, ours: str | None, snapshot_position: str | None) -> None:
    """Changes read before the state the snapshot already holds would put older rows over newer ones."""
    if is_older(ours, snapshot_position) and not run.ignore_publish_order:
        raise StaleDataError(f"shop {run.shop.id}: {dataset} read at {ours}, but the snapshot already holds "
                             f"data read later ({snapshot_position}) by another export of this shop: not merged; "
                             f"the next run reads fresh data")


def _replace_keeping_source(source: Path, target: Path) -> None:
    """Put a copy of `source` in place of `target` atomically; `source` stays, so a retried merge can redo it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)              # same file system: no copy
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


# --- marks for the next run ----------------------------------------------------------------------------------

def mark_published(run: ExportRun) -> None:
    """The run's changes are out: the next run's window (and delta) may start from its extract."""
    ws = run.workspace
    with ws.lock():
        state = ws.read_state()
        for dataset in DATASETS:
            meta = read_changes(run, dataset)
            recorded = state.get(dataset)
            if meta is None or recorded is None:
                continue
            previous = recorded.get("published_until")
            if previous is None or datetime.fromisoformat(previous) < meta.extracted_at:
                ws.update_state(**{dataset: {**recorded, "published_until": meta.extracted_at.isoformat()}})
                state = ws.read_state()


def force_full_rebuild(run: ExportRun, reason: str) -> None:
    """The goods snapshot is not what the database says: the shop's next run reads every good again."""
    ws = run.workspace
    with ws.lock():
        state = ws.read_state()
        if "goods" in state:
            ws.update_state(goods={**state["goods"], "force_full": reason})
