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

import dataclasses
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.catalog import extract, identity, snapshot
from shopsync.catalog.build import VALIDATED_PROFILES, _load_rejections, build_feeds, feed_context, photo_files
from shopsync.catalog.position import is_older
from shopsync.catalog.run import (
    DATASETS,
    ENTITY_OF,
    EXTRACT_STAGES,
    FAR_FUTURE,
    ExportRun,
    categories_path,
    elapsed,
    extract_overlap,
)
from shopsync.catalog.workspace import ShopWorkspace, new_run_id, read_json, write_json
from shopsync.core.config import FeedSettings
from shopsync.core.sql import sql_statement
from shopsync.runtime.memory import gc_paused
from shopsync.stock import shop_warehouses

SCHEMA_OF = {
    "goods": snapshot.GOODS_SCHEMA,
    "customers": snapshot.CUSTOMERS_SCHEMA,
    "certificates": snapshot.CERTIFICATES_SCHEMA,
}



def _is_full(run: ExportRun, dataset: str) -> bool:
    merged_until = run.workspace.read_state().get(dataset, {}).get("merged_until")
    return run.full or merged_until is None or not snapshot.has_schema(run.workspace.snapshot(dataset),
                                                                       SCHEMA_OF[dataset])


def _full_reason(run: ExportRun, dataset: str, settings: str, source: dict) -> str | None:
    """Why this data set must be extracted whole (None: what changed is enough); see identity.py."""
    if _is_full(run, dataset):
        return "no usable snapshot yet"
    return identity.full_rebuild_reason(run.workspace.read_state()[dataset], settings, source)


def _window_start(run: ExportRun, dataset: str) -> datetime:
    """Changes are read again from the last publish (or merge, before any), so the changes of a run that was
    merged but never published (blocked by validation) are in the next run's delta too."""
    recorded = run.workspace.read_state()[dataset]
    mark = datetime.fromisoformat(recorded.get("published_until") or recorded["merged_until"])
    return min(run.interval_start, mark) - extract_overlap()


def _changed_ids(conn: sa.Connection, dataset: str, since: datetime) -> list[int]:
    if dataset == "goods":
        return extract.changed_good_ids(conn, since, FAR_FUTURE)
    return extract.changed_ids(conn, ENTITY_OF[dataset], since, FAR_FUTURE)


def _dataset_records(conn: sa.Connection, run: ExportRun, dataset: str, scope: extract.Scope):
    if dataset == "customers":
        return extract.customer_records(conn, scope)
    return extract.certificate_records(conn, scope)


def extract_dataset(engine: Engine, run: ExportRun, dataset: str) -> dict:
    """Read one data set (all, or what changed) into the run's changes/<dataset>.arrow."""
    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    conn = extract.consistent_read(engine)
    try:
        extracted_at, position = conn.execute(sql_statement("extract/read_position.sql")).one()
        warehouses = shop_warehouses(conn, run.shop.warehouses)
        source = identity.database_identity(conn)
        settings = identity.content_fingerprint(run.shop, warehouses)
        reason = "asked for" if run.full else _full_reason(run, dataset, settings, source)
        full = reason is not None
        mode = "full" if full else "incremental"
        ids = None if full else _changed_ids(conn, dataset, _window_start(run, dataset))
        scope = extract.Scope(ids)
        changes = run.workspace.changes(run.key, dataset)
        if dataset == "goods":          # COPY per chunk of goods into Arrow batches (extract.goods_batches)
            batches = extract.goods_batches(conn, scope, run.shop.currency, warehouses)
            try:
                rows = snapshot.write_batches(changes, batches, SCHEMA_OF[dataset])
            finally:
                batches.close()         # its read-ahead thread is done with the connection before the rollback
        else:
            with gc_paused():
                rows = snapshot.write_records(changes, _dataset_records(conn, run, dataset, scope), SCHEMA_OF[dataset])
    finally:
        conn.rollback()
        conn.close()
    write_json(run.workspace.changed_ids_path(run.key, dataset), {
        "mode": mode,
        "ids": ids,
        "extracted_at": extracted_at.isoformat(),
        "position": position,
        "full_reason": reason,
        "content_settings": settings,
        "database": source,
    })
    return {
        "stage": f"extract_{dataset}", "dataset": dataset, "mode": mode, "full_reason": reason,
        "changed": rows if full else len(ids or []), "rows_read": rows, "seconds": elapsed(started),
    }


def extract_categories(engine: Engine, run: ExportRun) -> dict:
    """The classifier is small: read it whole every run."""
    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    with engine.connect() as conn:
        records = extract.category_records(conn, run.shop.category_map_key)
    write_json(categories_path(run), records)
    return {"stage": "extract_categories", "rows_read": len(records), "seconds": elapsed(started)}



def merge_dataset(run: ExportRun, dataset: str) -> dict:
    """Fold the run's changes into the shop's snapshot (replace for a full extract)."""
    started = time.perf_counter()
    ws = run.workspace
    ws.begin_stage(run.key)
    meta = read_json(ws.changed_ids_path(run.key, dataset))
    changes = ws.changes(run.key, dataset)
    with ws.lock():
        previous_token = ws.read_state().get(dataset, {}).get("snapshot_token")
        _refuse_older_merge(run, dataset, meta.get("position"), ws.read_state().get(dataset, {}).get("position"))
        if meta["mode"] == "full":
            _replace_keeping_source(changes, ws.snapshot(dataset))
            ws.snapshot(dataset).with_suffix(".parquet").unlink(missing_ok=True)   # the layout before Arrow IPC
            stats = snapshot.MergeStats(kept=0, replaced=0, added=snapshot.row_count(ws.snapshot(dataset)), removed=0)
        else:
            stats = snapshot.merge(ws.snapshot(dataset), changes, meta["ids"], SCHEMA_OF[dataset])
        state = ws.read_state()
        previous = state.get(dataset, {}).get("merged_until")
        extracted_at = datetime.fromisoformat(meta["extracted_at"])
        merged_until = extracted_at if previous is None else max(datetime.fromisoformat(previous), extracted_at)
        token = secrets.token_hex(8)      # names this state of the snapshot (see feed_pass.py)
        recorded = state.get(dataset, {})
        ws.update_state(**{dataset: {
            "merged_until": merged_until.isoformat(), "snapshot_token": token, "position": meta.get("position"),
            # what the snapshot was read with and from (identity.py); a full merge clears a forced rebuild
            "content_settings": meta.get("content_settings"), "database": meta.get("database"),
            **({"published_until": recorded["published_until"]} if recorded.get("published_until") else {}),
            **({"force_full": recorded["force_full"]} if recorded.get("force_full") and meta["mode"] != "full"
               else {}),
        }})
    write_json(ws.changed_ids_path(run.key, dataset),
               {**meta, "previous_snapshot_token": previous_token, "snapshot_token": token})
    return {
        "stage": f"merge_{dataset}", "mode": meta["mode"], "total": stats.total, "replaced": stats.replaced,
        "added": stats.added, "removed": stats.removed, "seconds": elapsed(started),
    }


def _refuse_older_merge(run: ExportRun, dataset: str, ours: str | None, snapshot_position: str | None) -> None:
    """Changes read before the state the snapshot already holds would put older rows over newer ones."""
    from shopsync.catalog.guards import StaleDataError

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


# --- transform: photos ---------------------------------------------------------------------------

def _photo_refs(run: ExportRun) -> Iterator:
    """Every photo the snapshot will reference after this run's merge: the changed goods' photos, and for an
    incremental run also those of the unchanged goods (so photos still in use are never removed)."""
    meta = read_json(run.workspace.changed_ids_path(run.key, "goods"))
    yield from _refs_in(run.workspace.changes(run.key, "goods"))
    if meta["mode"] == "incremental":
        yield from _refs_in(run.workspace.snapshot("goods"), skip=set(meta["ids"]))


def _refs_in(parquet: Path, skip: set[int] | frozenset[int] = frozenset()) -> Iterator:
    """The first reference to each original (by checksum) in good id, position order: resizing is content
    addressed, so later references to the same original add nothing (and there are far fewer originals
    than photo rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from shopsync.catalog.photos import PhotoRef

    skipped = pa.array(sorted(skip), pa.int64())
    seen: set[str] = set()
    for batch in snapshot.iter_batches(parquet, columns=["good_id", "photos"]):
        if len(skipped):
            batch = batch.filter(pc.invert(pc.is_in(batch.column("good_id"), skipped)))
        photos = batch.column("photos")
        flat = pc.list_flatten(photos)
        if len(flat) == 0:
            continue
        checksums = flat.field("checksum")
        firsts = pc.index_in(pc.unique(checksums), value_set=checksums)
        owners = batch.column("good_id").take(pc.list_parent_indices(photos)).take(firsts)
        for good_id, photo in zip(owners.to_pylist(), flat.take(firsts).to_pylist(), strict=True):
            if photo["checksum"] not in seen:
                seen.add(photo["checksum"])
                yield PhotoRef(good_id, photo["position"], photo["original_path"], photo["checksum"])


def resize_photos(run: ExportRun) -> dict:
    """Resize originals that changed (content-addressed by checksum: a photo shared by goods is done once)."""
    from shopsync.catalog.photos import process_photos
    from shopsync.core.paths import photos_dir

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    if not run.shop.photos.enabled:
        return {"stage": "photos", "enabled": False, "seconds": elapsed(started)}
    report = process_photos(_photo_refs(run), photos_dir(), run.workspace.photos_dir, run.shop.photos,
                            run.workspace.photos_state, content_addressed=True)
    problems = [{"good_id": p.good_id, "position": p.position, "original": p.original_path, "reason": p.reason}
                for p in report.failed]
    write_json(run.run_dir_path("photo-problems.json"), problems)
    return {"stage": "photos", "processed": report.processed, "unchanged": report.unchanged,
            "failed": len(problems), "failed_examples": problems[:5], "removed": len(report.removed),
            "seconds": elapsed(started)}


# --- validate -----------------------------------------------------------------------------------

def validate_feeds(run: ExportRun, engine: Engine | None = None, chunk_offers: int | None = None) -> dict:
    """Great Expectations on every written feed, read back; with an engine, then the feeds against the
    database (compare_with_database). Raises (nothing is published) on failure."""
    import pandas as pd

    from shopsync.catalog.feeds import feed_file_name
    from shopsync.catalog.validation.report import summarize, write_report
    from shopsync.catalog.validation.results import unreadable_feed, validate_feed
    from shopsync.catalog.validation.rules import FeedValidationError

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    expected_all = pd.read_parquet(run.run_dir_path("expected.parquet"))
    expected_visible = expected_all[expected_all["visible"]]
    # TSGoods lists hidden goods with Display 0 and no stock; WooCommerce keeps their stock, unpublished.
    expected_torgsoft = expected_all.assign(free_stock=expected_all["free_stock"].where(expected_all["visible"], 0))
    read_back = read_json(run.run_dir_path("read-back.json"), {"problems": {}})
    written = {stats["file"]: stats for stats in read_json(run.run_dir_path("feeds.json"), [])}
    validations = []
    for feed in run.shop.feeds:
        if feed.profile not in VALIDATED_PROFILES:
            continue
        expected = {"torgsoft_csv": expected_torgsoft, "woocommerce_csv": expected_all}.get(
            feed.profile, expected_visible)
        path = run.workspace.out_dir(run.key) / feed_file_name(feed)
        problems = read_back["problems"].get(path.name) or _changed_since_written(path, written.get(path.name))
        if problems:
            validations.append(unreadable_feed(path, feed.profile, problems, time.perf_counter()))
            continue
        validations.append(validate_feed(path, feed.profile, expected[["good_id", "free_stock"]],
                                         encoding=feed.encoding, published_photo_dir=run.workspace.photos_dir,
                                         data=_read_back_offers(run, path.name, feed.profile, read_back,
                                                              chunk_offers)))
    rejections = _load_rejections(run)
    report = run.run_dir_path("validation-report.md")
    write_report(validations, rejections, report, title=f"Shop {run.shop.id}, run {run.key}")
    summary = summarize(validations, rejections)
    failed = [v for v in validations if not v.success]
    if failed:
        raise FeedValidationError(f"{len(failed)} feed(s) failed validation and were not published; "
                                  f"the last good feeds stay in place. Report: {report}\n{summary}")
    result = {"stage": "validate", "feeds": len(validations),
              "rows": {Path(v.path).name: v.rows for v in validations},
              "report": str(report), "summary": summary, "seconds": elapsed(started)}
    if engine is not None:
        result["database"] = compare_with_database(engine, run)
    return result


def compare_with_database(engine: Engine, run: ExportRun) -> dict:
    """The built feeds against the database as it is now (validation/database.py): counts and a sample of goods.

    A difference that a change since the extract does not explain blocks the publish (FeedValidationError),
    goes into the validation report, and makes the shop's next run a full rebuild: the snapshot is not what
    the database says, and change_log cannot tell what else is wrong.
    """
    import pyarrow.parquet as pq

    from shopsync.catalog.validation import database as validate_db
    from shopsync.catalog.validation.rules import FeedValidationError

    started = time.perf_counter()
    meta = read_json(run.workspace.changed_ids_path(run.key, "goods"))
    since = datetime.fromisoformat(meta["extracted_at"]) - extract_overlap()
    offers = run.run_dir_path("offers")           # what the catalog pass read back, per feed it wrote
    feeds = [validate_db.FeedOffers(name, feed.profile, offers / f"{name}.parquet") for feed in run.shop.feeds
             if (offers / f"{(name := _feed_file_name(feed))}.parquet").exists()]
    conn = extract.consistent_read(engine)
    try:
        comparison = validate_db.compare(
            conn, currency=run.shop.currency, warehouse_ids=shop_warehouses(conn, run.shop.warehouses), since=since,
            expected=pq.read_table(run.run_dir_path("expected.parquet")),
            feed_counts=read_json(run.run_dir_path("snapshot-counts.json")), feeds=feeds, seed=run.key)
    finally:
        conn.rollback()
        conn.close()
    write_json(run.run_dir_path("database-check.json"), comparison.as_json())
    report = run.run_dir_path("validation-report.md")
    with open(report, "a", encoding="utf-8") as out:
        out.write(comparison.markdown())
    if not comparison.success:
        _force_full_rebuild(run, "the last run's feeds disagreed with the database: " + comparison.problems()[0])
        problems = "\n".join(f"  {line}" for line in comparison.problems())
        raise FeedValidationError(f"the feeds disagree with the database and were not published; the last good "
                                  f"feeds stay in place and the next run rebuilds in full. Report: {report}\n"
                                  f"{comparison.summary()}\n{problems}")
    return {"stage": "compare_database", "sampled": comparison.sampled, "excused": len(comparison.excused),
            "counts": comparison.counts, "summary": comparison.summary(), "seconds": elapsed(started)}


def _feed_file_name(feed: FeedSettings) -> str:
    from shopsync.catalog.feeds import feed_file_name

    return feed_file_name(feed)


def _force_full_rebuild(run: ExportRun, reason: str) -> None:
    """The goods snapshot is not what the database says: the shop's next run reads every good again."""
    ws = run.workspace
    with ws.lock():
        state = ws.read_state()
        if "goods" in state:
            ws.update_state(goods={**state["goods"], "force_full": reason})


def _changed_since_written(path: Path, stats: dict | None) -> list[str]:
    """A feed validated from what the writer read back must still be the file it wrote."""
    if stats is None or "mtime_ns" not in stats:
        return []
    try:
        current = os.stat(path)
    except OSError as exc:
        return [f"the feed file is gone: {exc}"]
    if current.st_size != stats["bytes"] or current.st_mtime_ns != stats["mtime_ns"]:
        return [f"the feed file changed after it was written ({stats['bytes']:,} bytes written, "
                f"{current.st_size:,} there now): run the export again"]
    return []


def _read_back_offers(run: ExportRun, file_name: str, profile: str, read_back: dict,
                      chunk_offers: int | None = None):
    """The offers the catalog pass read back from a feed it wrote, in chunks of chunk_offers offers (by default
    VALIDATE_CHUNK); None when it read none back (validate_feed then reads the file itself)."""
    import pyarrow.parquet as pq

    from shopsync.catalog.validation.read_back import VALIDATE_CHUNK, YML_PROFILES, FeedData

    path = run.run_dir_path("offers") / f"{file_name}.parquet"
    if not path.exists():
        return None
    absent = read_back.get("absent_offer_columns", {}).get(file_name, [])
    missing = read_back.get("missing_columns", {}).get(file_name, [])
    categories = {str(category_id) for category_id in feed_context(run).categories} \
        if profile in YML_PROFILES else None

    def chunks() -> Iterator[FeedData]:
        offers = pq.ParquetFile(path)
        parts = offers.iter_batches(batch_size=chunk_offers or VALIDATE_CHUNK) if offers.metadata.num_rows \
            else [offers.schema_arrow.empty_table()]          # a feed without offers: one empty chunk
        for part in parts:
            yield FeedData(part.to_pandas().drop(columns=absent), category_ids=categories, missing_columns=missing)

    return chunks()


# --- publish ------------------------------------------------------------------------------------

def _photo_names_in_snapshot(run: ExportRun) -> set[str]:
    """The photo files the feeds link to (every size of each is published)."""
    import pyarrow.compute as pc

    from shopsync.catalog.columns import published_photo_names

    published = photo_files(run)
    names: set[str] = set()
    for batch in snapshot.iter_batches(run.workspace.snapshot("goods"), columns=["photos"]):
        names.update(pc.unique(pc.list_flatten(published_photo_names(batch.column("photos"), published))).to_pylist())
    return names


def _photo_uploads(run: ExportRun, destination) -> tuple[list, set[str]]:
    """Photo files the destination does not have yet (every size of every photo a feed links to), and every
    photo it has once they are sent. A local destination is asked; for a remote one the workspace remembers
    what was sent to it (per kind, host, port and path: a moved destination gets every photo again)."""
    from shopsync.transport.base import OutgoingFile

    wanted = {f"{size.name}/{name}" for name in _photo_names_in_snapshot(run) for size in run.shop.photos.sizes}
    known = destination.known_photos(wanted)
    already = set(read_json(_uploaded_photos_path(run, destination), [])) if known is None else known
    missing = sorted(wanted - already)
    files = [OutgoingFile(run.workspace.photos_dir / name, f"photos/{name}") for name in missing
             if (run.workspace.photos_dir / name).exists()]
    return files, already | {file.remote_name.removeprefix("photos/") for file in files}


def _uploaded_photos_path(run: ExportRun, destination) -> Path:
    from shopsync.catalog.publish.sets import identity_key

    return run.workspace.root / f"uploaded-photos.{identity_key(destination.identity)}.json"


def _published_manifest_path(run: ExportRun, destination) -> Path:
    """The workspace's copy of the last manifest published to this destination (the baseline when the
    destination's own manifest.json cannot be read)."""
    from shopsync.catalog.publish.sets import identity_key

    return run.workspace.root / f"published-manifest.{identity_key(destination.identity)}.json"


def open_publish_target(run: ExportRun):
    from shopsync.catalog.publish.sets import open_set_destination
    from shopsync.core.paths import project_root

    return open_set_destination(run.shop.destination, project_root(), run.workspace.root)


def publish_photos(run: ExportRun) -> int:
    """Only the photos the destination does not have yet, without a new feed set; returns how many."""
    destination = open_publish_target(run)
    try:
        with run.workspace.publish_lock():
            destination.recover()
            photo_files, uploaded = _photo_uploads(run, destination)
            destination.put_photos(photo_files)
            if destination.known_photos(set()) is None:
                write_json(_uploaded_photos_path(run, destination), sorted(uploaded))
    finally:
        destination.close()
    return len(photo_files)


def _guarded_rows(run: ExportRun, feeds: list[dict]) -> dict[str, int]:
    """Rows of every full feed of the shop in this set, 0 for one the set lacks (the delta files of an
    incremental run change size by nature)."""
    from shopsync.catalog.feeds import feed_file_name

    rows = {f["file"]: f["rows"] for f in feeds}
    return {name: rows.get(name, 0) for name in (feed_file_name(feed) for feed in run.shop.feeds)}


def publish_feeds(run: ExportRun, published_at: datetime | None = None) -> dict:
    """The run's set, all or nothing (catalog/publish/sets.py): photos, feeds, manifest.json last.

    Under the shop's publish lock, before anything is sent: an interrupted earlier publish is finished or rolled
    back, then the publish order rule and the shrink guard compare this set with the last published one.
    """
    from shopsync.catalog.guards import check_publish_order, check_shrink
    from shopsync.catalog.publish.manifest import ManifestEntry, build_manifest, write_manifest
    from shopsync.catalog.publish.sets import FeedSet, new_set_id
    from shopsync.transport.base import OutgoingFile

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    out_dir = run.workspace.out_dir(run.key)
    feeds = read_json(run.run_dir_path("feeds.json"), [])
    positions = read_json(run.run_dir_path("position.json"), {})
    destination = open_publish_target(run)
    try:
        with run.workspace.publish_lock():
            recovered = destination.recover()
            live = destination.published_manifest() or read_json(_published_manifest_path(run, destination))
            if not run.ignore_publish_order:
                check_publish_order(run.shop.id, positions, live)
            if not run.allow_shrink:
                check_shrink(run.shop.id, _guarded_rows(run, feeds), live, run.shop.max_drop_percent)
            photo_files, uploaded = _photo_uploads(run, destination)
            set_id = new_set_id()
            entries = [ManifestEntry(f["file"], out_dir / f["file"], f["rows"]) for f in feeds]
            manifest = build_manifest(entries, (run.interval_start, run.interval_end),
                                      published_at or datetime.now().astimezone(),
                                      extra={"set": set_id, "run": run.key, "database_position": positions})
            manifest_path = write_manifest(manifest, out_dir / "manifest.json")
            results = destination.publish(FeedSet(
                set_id, photo_files, [OutgoingFile(entry.path, entry.name) for entry in entries],
                OutgoingFile(manifest_path, "manifest.json")))
            if destination.known_photos(set()) is None:
                write_json(_uploaded_photos_path(run, destination), sorted(uploaded))
            write_json(_published_manifest_path(run, destination), manifest)
    finally:
        destination.close()
    _mark_published(run)
    feed_bytes = sum(result.size for result in results)
    return {
        "stage": "publish", "destination": f"{run.shop.destination.kind}:{run.shop.destination.path}",
        "set": set_id, "recovered": recovered,
        "files": [result.remote_name for result in results], "photos_uploaded": len(photo_files),
        "bytes": feed_bytes, "seconds": elapsed(started),
        "asset_extra": {
            "shop": run.shop.id, "run": run.key,
            "feeds": {f["file"]: f["rows"] for f in feeds}, "bytes": feed_bytes,
            "photos_uploaded": len(photo_files),
        },
    }


def _mark_published(run: ExportRun) -> None:
    """The run's changes are out: the next run's window (and delta) may start from its extract."""
    ws = run.workspace
    with ws.lock():
        state = ws.read_state()
        for dataset in DATASETS:
            meta = read_json(ws.changed_ids_path(run.key, dataset))
            recorded = state.get(dataset)
            if meta is None or recorded is None:
                continue
            extracted_at = datetime.fromisoformat(meta["extracted_at"])
            previous = recorded.get("published_until")
            if previous is None or datetime.fromisoformat(previous) < extracted_at:
                ws.update_state(**{dataset: {**recorded, "published_until": extracted_at.isoformat()}})
                state = ws.read_state()


# --- summary ------------------------------------------------------------------------------------

def summarise(run: ExportRun, stage_results: list[dict]) -> dict:
    """The run's short summary: items per feed, changed, rejected and why, bytes, time per stage."""
    import logging

    log = logging.getLogger(__name__)
    results = {result["stage"]: result for result in stage_results if result}
    built = results.get("write_feeds", {})
    summary = {
        "shop": run.shop.id, "run": run.key,
        "feeds": built.get("feeds", {}),
        "changed": {r["dataset"]: r["changed"] for r in results.values() if r["stage"] in EXTRACT_STAGES},
        "feed_pass": built.get("mode"),     # "incremental": only the changed goods were rendered again
        "read_back_workers_peak_mb": built.get("worker_peaks_mb", []),
        "rejected": built.get("rejected", 0),
        "rejected_by_reason": built.get("rejected_by_reason", {}),
        "unencodable": built.get("unencodable", {}),     # characters a feed's code page lacks, written as '?'
        "full_because": {r["dataset"]: r["full_reason"] for r in results.values()
                         if r["stage"] in EXTRACT_STAGES and r.get("full_reason")},   # identity.py
        "database_check": results.get("compare_database", results.get("validate", {}).get("database", {})).get(
            "summary"),
        "bytes_published": results.get("publish", {}).get("bytes", 0),
        "report": results.get("validate", {}).get("report"),
        "seconds_by_stage": {name: result.get("seconds") for name, result in results.items()},
    }
    for line in summary_lines(summary):
        log.info(line)
    write_json(run.run_dir_path("summary.json"), summary)
    prune_runs(run.workspace, keep=int(os.environ.get("SHOPSYNC_KEEP_RUNS", "48")), current=run.key)
    return summary


def abandoned_after() -> timedelta:
    """A run whose stages have not started for this long (and that never finished) is abandoned."""
    return timedelta(hours=float(os.environ.get("SHOPSYNC_ABANDONED_RUN_HOURS", "24")))


def prune_runs(workspace: ShopWorkspace, keep: int, current: str) -> list[str]:
    """Delete all but the `keep` latest run directories (each holds a full set of feeds), but never the current
    one nor one still working: only runs that finished (summary.json written) or were abandoned (no stage
    began for abandoned_after()). Under the workspace lock, which every stage takes to mark its run working."""
    runs_root = workspace.root / "runs"
    if not runs_root.exists():
        return []
    doomed = []
    with workspace.lock():
        keys = sorted(path.name for path in runs_root.iterdir() if path.is_dir())
        for key in keys[:max(0, len(keys) - keep)]:
            if key != current and _run_is_over(workspace, key):
                shutil.rmtree(runs_root / key, ignore_errors=True)
                doomed.append(key)
    return doomed


def _run_is_over(workspace: ShopWorkspace, key: str) -> bool:
    if (workspace.run_dir(key) / "summary.json").exists():
        return True
    lease = workspace.lease_path(key)
    last_active = (lease if lease.exists() else workspace.run_dir(key)).stat().st_mtime
    return time.time() - last_active > abandoned_after().total_seconds()


def summary_lines(summary: dict) -> list[str]:
    lines = [f"catalog export of shop {summary['shop']}, run {summary['run']}"]
    for file, figures in sorted(summary["feeds"].items()):
        lines.append(f"  feed {file:<24} {figures['rows']:>9,} items {figures['bytes']:>13,} bytes")
    changed = ", ".join(f"{k} {v:,}" for k, v in summary["changed"].items())
    lines.append(f"  changed: {changed or 'nothing'}" + (f"; feeds: {summary['feed_pass']} pass"
                                                          if summary.get("feed_pass") else ""))
    for dataset, reason in summary.get("full_because", {}).items():
        lines.append(f"  {dataset} read in full: {reason}")
    if summary.get("database_check"):
        lines.append(f"  {summary['database_check']}")
    reasons = ", ".join(f"{k}: {v}" for k, v in summary["rejected_by_reason"].items())
    lines.append(f"  rejected: {summary['rejected']}" + (f" ({reasons})" if reasons else ""))
    for file, figures in sorted(summary.get("unencodable", {}).items()):
        lines.append(f"  {file}: {figures['count']:,} characters its encoding lacks written as '?' "
                     f"(e.g. {', '.join(figures['examples'])})")
    lines.append(f"  bytes published: {summary['bytes_published']:,}")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in summary["seconds_by_stage"].items() if v is not None)
    lines.append(f"  time per stage: {timings}")
    return lines


# --- everything, in order (what `shopsync export` runs; the DAG runs the same stages as tasks) ----

STALE_RERUNS = 2       # run_export starts again from fresh data at most this often when its data is overtaken


def run_export(engine: Engine, run: ExportRun, *, dry_run: bool = False) -> dict:
    """All stages in order; with dry_run everything but publishing (feeds stay in the run directory).

    When another export of the shop merged or published newer data first (StaleDataError), nothing of this
    run's data is published: the export starts again from fresh data as a new run (at most STALE_RERUNS times).
    """
    from shopsync.catalog.guards import StaleDataError

    run.workspace.sweep_dead_runs()
    for attempt in range(STALE_RERUNS + 1):
        try:
            with run.workspace.holding_run(run.key):
                return _run_stages(engine, run, dry_run=dry_run)
        except StaleDataError as exc:
            if attempt == STALE_RERUNS:
                raise
            import logging

            logging.getLogger(__name__).warning("%s; starting again from fresh data", exc)
            now = datetime.now(run.interval_end.tzinfo).replace(microsecond=0)
            run = dataclasses.replace(run, interval_end=max(now, run.interval_end), run_id=new_run_id())
    raise AssertionError("unreachable")


VALIDATE_STAGE = f"{__name__}:validate_feeds"      # what the validation helper process runs


def _run_stages(engine: Engine, run: ExportRun, *, dry_run: bool) -> dict:
    """Great Expectations takes seconds of CPU to import, so it starts loading at once: for an incremental run
    in a helper process that then validates (validation/worker.py), for a full run in a thread (a helper
    process would add its memory to the read-back workers' of the full pass; see docs/decisions.md).
    """
    from shopsync.catalog.validation.suite import warm_up_great_expectations
    from shopsync.catalog.validation.worker import ValidationWorker

    validator = None if _is_full(run, "goods") else ValidationWorker()
    if validator is None:
        warm_up_great_expectations()
    try:
        results = [extract_dataset(engine, run, dataset) for dataset in DATASETS]
        results.append(extract_categories(engine, run))
        results.append(resize_photos(run))
        results.extend(merge_dataset(run, dataset) for dataset in DATASETS)
        results.append(build_feeds(run))
        results.append(validator.validate(VALIDATE_STAGE, run) if validator is not None else validate_feeds(run))
        results.append(compare_with_database(engine, run))
    finally:
        if validator is not None:
            validator.close()
    if not dry_run:
        results.append(publish_feeds(run))
    return summarise(run, results)
