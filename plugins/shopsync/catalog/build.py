"""The build stage: every feed of a shop written from its snapshot into the run's out/ directory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from shopsync.catalog import snapshot
from shopsync.catalog.model import FeedContext
from shopsync.catalog.run import ExportRun, categories_path, elapsed
from shopsync.catalog.run_files import (
    DatabasePositions,
    FeedFileStats,
    ReadBackNotes,
    SnapshotCounts,
    read_changes,
    write_feed_stats,
    write_positions,
    write_read_back,
    write_rejections,
    write_snapshot_counts,
)
from shopsync.catalog.workspace import ShopWorkspace, new_file, read_json
from shopsync.core.config import FeedSettings
from shopsync.runtime.memory import gc_paused


def photo_files(run: ExportRun):
    """The resized photos feeds may link to (the detail size; none when the shop publishes no photos)."""
    import pyarrow as pa

    from shopsync.catalog.columns import PhotoFiles
    from shopsync.catalog.photos import EXTENSIONS, detail_size_name

    photos = run.shop.photos
    size = detail_size_name(photos)
    directory = run.workspace.photos_dir / size
    if not photos.enabled or not directory.is_dir():
        return PhotoFiles.none()
    names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
    return PhotoFiles(pa.array(names, pa.string()), "." + EXTENSIONS[photos.format], size)



BATCH = 10_000                  # goods per feed batch
VALIDATED_PROFILES = ("torgsoft_csv", "yml", "prom_yml", "rozetka_yml", "woocommerce_csv")


def feed_context(run: ExportRun) -> FeedContext:
    from shopsync.catalog.transform import categories_from_records

    shop = run.shop
    return FeedContext(
        shop_id=shop.id, shop_name=shop.name, company=shop.company or shop.name, url=shop.url,
        currency=shop.currency, generated_at=run.interval_end,
        categories=categories_from_records(read_json(categories_path(run), [])),
    )


def _feed_batches(run: ExportRun, photos, batches: Iterator) -> Iterator:
    from shopsync.catalog.columns import feed_batch

    return (feed_batch(batch, run.shop.photo_base_url, photos) for batch in batches)


def _writer_job(run: ExportRun, feed: FeedSettings, ctx: FeedContext, file_name: str, only_ids=None):
    """A fan-out consumer that writes one feed of a per-good (CatalogItem) writer and returns its statistics."""
    from shopsync.catalog.feed_pass import feed_stats
    from shopsync.catalog.feeds import get_writer

    writer = get_writer(feed.profile)
    path = run.workspace.out_dir(run.key) / file_name

    def consume(rows):
        selected = rows if only_ids is None else (row for row in rows if row.good_id in only_ids)
        with new_file(path) as out:
            return feed_stats(file_name, feed, writer.write(selected, out, ctx, feed))

    return consume


def _snapshot_token(ws: ShopWorkspace) -> str | None:
    return ws.read_state().get("goods", {}).get("snapshot_token")


def _write_catalog_pass(run: ExportRun, ctx: FeedContext, photos) -> tuple[list[dict], object]:
    """The columnar catalog feeds in one pass (feed_pass.py), the rest of the good id ordered ones per good."""
    from shopsync.catalog import feed_pass

    ws = run.workspace
    meta = read_changes(run, "goods")
    plan = feed_pass.PassPlan(
        workspace=ws, run_dir=ws.run_dir(run.key), out_dir=ws.out_dir(run.key), ctx=ctx, feeds=run.shop.feeds,
        photo_base_url=run.shop.photo_base_url, photos=photos,
        changed_ids=list(meta.ids) if meta is not None and meta.incremental else None,
        changes=ws.changes(run.key, "goods"),
        previous_token=meta.previous_snapshot_token if meta is not None else None,
        token=meta.snapshot_token if meta is not None and meta.snapshot_token == _snapshot_token(ws) else None,
    )
    result = feed_pass.run_pass(plan)
    stats = {s["file"]: s for s in result.stats + _write_item_catalog_feeds(run, ctx, photos, plan.changed_ids)}
    ordered = [stats.pop(name) for feed in run.shop.feeds for name in _catalog_file_names(feed, plan.changed_ids)
               if name in stats]
    return ordered, result


def _catalog_file_names(feed: FeedSettings, changed_ids) -> list[str]:
    from shopsync.catalog.feeds import feed_file_name
    from shopsync.core.config import delta_name

    name = feed_file_name(feed)
    return [name, delta_name(name)] if feed.delta and changed_ids is not None else [name]


def _write_item_catalog_feeds(run: ExportRun, ctx: FeedContext, photos, changed_ids) -> list[dict]:
    """Catalog feeds in good id order whose writers work per good (CatalogItem), fed by fan_out."""
    from shopsync.catalog.feed_pass import is_good_id_catalog, item_batches
    from shopsync.catalog.feeds import feed_file_name, get_writer
    from shopsync.catalog.feeds.base import is_columnar
    from shopsync.catalog.transform import fan_out
    from shopsync.core.config import delta_name

    jobs = []
    for feed in run.shop.feeds:
        writer = get_writer(feed.profile)
        if not is_good_id_catalog(writer) or is_columnar(writer):
            continue
        jobs.append(_writer_job(run, feed, ctx, feed_file_name(feed)))
        if feed.delta and changed_ids is not None:
            jobs.append(_writer_job(run, feed, ctx, delta_name(feed_file_name(feed)), set(changed_ids)))
    if not jobs:
        return []
    return fan_out(item_batches(run.workspace, run.shop.photo_base_url, photos, ctx), jobs)


def _write_model_group_feeds(run: ExportRun, ctx: FeedContext, photos) -> list[dict]:
    """Feeds that need each model group's goods together (WooCommerce variations) get their own pass.

    It sorts the snapshot in memory (pyarrow), so unlike the streaming pass its memory grows with
    the catalog; see docs/decisions.md.
    """
    from shopsync.catalog.columns import items_from_batch
    from shopsync.catalog.feeds import feed_file_name, get_writer
    from shopsync.catalog.validation.rules import Rejections, split_batch

    feeds = [feed for feed in run.shop.feeds if get_writer(feed.profile).sort_key == "model_group"]
    if not feeds:
        return []
    table = snapshot.read_table(run.workspace.snapshot("goods"))
    table = table.sort_by([("model_group_id", "ascending"), ("good_id", "ascending")])
    no_group = table.filter(table.column("model_group_id").is_null())
    grouped = table.filter(table.column("model_group_id").is_valid())
    results = []
    for feed in feeds:
        ordered = (batch for part in (no_group, grouped) for batch in part.to_batches(BATCH))
        consume = _writer_job(run, feed, ctx, feed_file_name(feed))
        items = (item for batch in _feed_batches(run, photos, ordered)
                 for item in items_from_batch(split_batch(batch, ctx, Rejections())))
        results.append(consume(items))
    return results


def _write_companion_feeds(run: ExportRun, ctx: FeedContext) -> list[dict]:
    from shopsync.catalog.feeds import feed_file_name, get_writer
    from shopsync.catalog.transform import certificate_from_record, customer_from_record

    as_of = run.interval_end.date()
    sources = {
        "customers": lambda: (customer_from_record(r) for r in snapshot.iter_records(run.workspace.snapshot(
            "customers")) if r["is_active"]),
        "certificates": lambda: (certificate_from_record(r, as_of) for r in snapshot.iter_records(
            run.workspace.snapshot("certificates"))),
    }
    results = []
    for feed in run.shop.feeds:
        kind = get_writer(feed.profile).kind
        if kind in sources:
            results.append(_writer_job(run, feed, ctx, feed_file_name(feed))(sources[kind]()))
    return results


def build_feeds(run: ExportRun) -> dict:
    """One build of a shop at a time: builds share the shop's pass cache (rendered/), which two runs writing at
    once (a CLI run beside a DAG run) would mix."""
    with run.workspace.build_lock():
        return _build_feeds(run)


def _build_feeds(run: ExportRun) -> dict:
    """Write every feed of the shop from its snapshot into the run's out/ directory."""
    import pyarrow.parquet as pq

    from shopsync.catalog.validation.rules import raise_on_rejections

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    out_dir = run.workspace.out_dir(run.key)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Read before the snapshots: a merge of another run meanwhile makes the feeds newer, never older, than this
    state = run.workspace.read_state()
    write_positions(run, DatabasePositions.from_state(state))
    ctx = feed_context(run)
    with gc_paused():
        photos = photo_files(run)           # one listing of the resized photos for every pass of this stage
        catalog_stats, result = _write_catalog_pass(run, ctx, photos)
    rejections = result.rejections
    write_rejections(run, rejections)
    raise_on_rejections(rejections, 0, run.shop.on_bad_item)
    stats = catalog_stats + _write_model_group_feeds(run, ctx, photos) + _write_companion_feeds(run, ctx)
    for feed_stats in stats:        # validation checks that a feed read back while written is still this file
        feed_stats["mtime_ns"] = os.stat(out_dir / feed_stats["file"]).st_mtime_ns
    pq.write_table(result.expected, run.run_dir_path("expected.parquet"))
    write_read_back(run, ReadBackNotes.from_json(result.read_back.as_json()))
    write_snapshot_counts(run, SnapshotCounts.from_json(result.counts))
    write_feed_stats(run, [FeedFileStats.from_json(feed_stats) for feed_stats in stats])
    return {
        "stage": "write_feeds", "mode": result.mode, "worker_peaks_mb": result.worker_peaks_mb,
        "feeds": {s["file"]: {"rows": s["rows"], "bytes": s["bytes"]} for s in stats},
        "rejected": len(rejections), "rejected_by_reason": rejections.by_reason(), "seconds": elapsed(started),
        "unencodable": {s["file"]: {"count": s["replaced_chars"], "examples": s.get("replaced_examples", [])}
                        for s in stats if s.get("replaced_chars")},
    }
