"""The build stage: every feed of a shop written from its snapshot into the run's out/ directory.

One route: each feed goes to the source of the shape its writer declares (feeds/shape.py). GOODS_FRAGMENTS
feeds are the catalog pass's (render/, which runs always: it also checks every good and writes the
validation's inputs); every other shape has its entry in ROW_SOURCES, whose rows are written to all the
shape's feeds in one pass (transform.fan_out).

Each feed is written with its own context: a marketplace feed's categories carry that marketplace's ids
(category_maps.py). The build lists, per such feed, the categories with offers but no marketplace id, and
fails (nothing is published) for a feed whose `unmapped_categories` setting is `block`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from shopsync.catalog import category_maps, snapshot
from shopsync.catalog.feeds.shape import (
    CERTIFICATES,
    CUSTOMERS,
    GOODS_BY_ID,
    GOODS_BY_MODEL_GROUP,
    GOODS_FRAGMENTS,
    Shape,
)
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
from shopsync.catalog.validation.read_back import PROFILES
from shopsync.catalog.workspace import ShopWorkspace, new_file, read_json
from shopsync.core.config import FeedSettings, delta_name
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


VALIDATED_PROFILES = PROFILES           # the feeds read back and validated (validation/read_back.py)


def feed_context(run: ExportRun) -> FeedContext:
    from shopsync.catalog.transform import categories_from_records

    shop = run.shop
    return FeedContext(
        shop_id=shop.id, shop_name=shop.name, company=shop.company or shop.name, url=shop.url,
        currency=shop.currency, generated_at=run.interval_end,
        categories=categories_from_records(read_json(categories_path(run), [])),
    )


# --- one route: each feed goes to the source of its writer's declared shape -------------------------------

def _feeds_of(run: ExportRun, shape: Shape) -> list[FeedSettings]:
    from shopsync.catalog.feeds import get_writer

    return [feed for feed in run.shop.feeds if get_writer(feed.profile).shape == shape]


def _in_shop_order(run: ExportRun, stats: list[dict], changed_ids) -> list[dict]:
    by_file = {s["file"]: s for s in stats}
    return [by_file.pop(name) for feed in run.shop.feeds for name in _file_names(feed, changed_ids)
            if name in by_file]


def _file_names(feed: FeedSettings, changed_ids) -> list[str]:
    name = feed.file_name
    return [name, delta_name(name)] if feed.delta and changed_ids is not None else [name]


def _snapshot_token(ws: ShopWorkspace) -> str | None:
    return ws.read_state().get("goods", {}).get("snapshot_token")


def _render_pass(run: ExportRun, ctx: FeedContext, photos, feeds: list[FeedSettings],
                 contexts: Mapping[str, FeedContext]):
    """The source of GOODS_FRAGMENTS feeds: the catalog pass (render/), which also checks every good."""
    from shopsync.catalog.render.catalog_pass import run_pass
    from shopsync.catalog.render.targets import PassPlan

    ws = run.workspace
    meta = read_changes(run, "goods")
    plan = PassPlan(
        workspace=ws, run_dir=ws.run_dir(run.key), out_dir=ws.out_dir(run.key), ctx=ctx, feeds=feeds,
        photo_base_url=run.shop.photo_base_url, photos=photos,
        changed_ids=list(meta.ids) if meta is not None and meta.incremental else None,
        changes=ws.changes(run.key, "goods"),
        previous_token=meta.previous_snapshot_token if meta is not None else None,
        token=meta.snapshot_token if meta is not None and meta.snapshot_token == _snapshot_token(ws) else None,
        tuning=run.tuning, contexts=contexts,
    )
    return run_pass(plan), plan.changed_ids


def _goods_by_id(run: ExportRun, ctx: FeedContext, photos) -> Iterator[list]:
    """The snapshot's good goods as CatalogItem lists, in good id order."""
    from shopsync.catalog.columns import items_from_batch
    from shopsync.catalog.validation.rules import Rejections, split_batch

    for batch in _feed_batches(run, photos, snapshot.iter_batches(run.workspace.snapshot("goods"),
                                                                  run.tuning.render_batch)):
        yield list(items_from_batch(split_batch(batch, ctx, Rejections())))


def _goods_by_model_group(run: ExportRun, ctx: FeedContext, photos) -> Iterator[list]:
    """The good goods without a model group, then each group's together, each part by good id.

    It sorts the snapshot in memory (pyarrow), so unlike the streaming pass its memory grows with
    the catalog; see docs/decisions.md.
    """
    from shopsync.catalog.columns import items_from_batch
    from shopsync.catalog.validation.rules import Rejections, split_batch

    table = snapshot.read_table(run.workspace.snapshot("goods"))
    table = table.sort_by([("model_group_id", "ascending"), ("good_id", "ascending")])
    no_group = table.filter(table.column("model_group_id").is_null())
    grouped = table.filter(table.column("model_group_id").is_valid())
    ordered = (batch for part in (no_group, grouped) for batch in part.to_batches(run.tuning.feed_source_rows))
    for batch in _feed_batches(run, photos, ordered):
        yield list(items_from_batch(split_batch(batch, ctx, Rejections())))


def _customers(run: ExportRun, ctx: FeedContext, photos) -> Iterator[list]:
    from shopsync.catalog.transform import customer_from_record

    records = snapshot.iter_records(run.workspace.snapshot("customers"))
    return _chunks((customer_from_record(r) for r in records if r["is_active"]), run.tuning.feed_source_rows)


def _certificates(run: ExportRun, ctx: FeedContext, photos) -> Iterator[list]:
    from shopsync.catalog.transform import certificate_from_record

    as_of = run.interval_end.date()
    records = snapshot.iter_records(run.workspace.snapshot("certificates"))
    return _chunks((certificate_from_record(r, as_of) for r in records), run.tuning.feed_source_rows)


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _feed_batches(run: ExportRun, photos, batches: Iterator) -> Iterator:
    from shopsync.catalog.columns import feed_batch

    return (feed_batch(batch, run.shop.photo_base_url, photos) for batch in batches)


RowSource = Callable[[ExportRun, FeedContext, Any], Iterator[list]]
# The source of rows for each shape of form "rows" (GOODS_FRAGMENTS: _render_pass). Every feed of a shape
# is written from one pass over its source.
ROW_SOURCES: dict[Shape, RowSource] = {
    GOODS_BY_ID: _goods_by_id,
    GOODS_BY_MODEL_GROUP: _goods_by_model_group,
    CUSTOMERS: _customers,
    CERTIFICATES: _certificates,
}
# Deltas (the changed goods only) are written for these shapes; the pass writes its own.
DELTA_SHAPES = (GOODS_BY_ID,)


class _Writing:
    """What the writing of the rows feeds shares: each feed's context, and the offers per category of each feed
    whose unmapped categories are listed (by file name)."""

    def __init__(self, ctx: FeedContext, contexts: Mapping[str, FeedContext]):
        self.ctx, self.contexts = ctx, contexts
        self.offers: dict[str, Counter[int]] = {}

    def counter(self, feed: FeedSettings) -> Counter[int] | None:
        if feed.unmapped_policy == "ignore":
            return None
        return self.offers.setdefault(feed.file_name, Counter())


def _write_shape(run: ExportRun, writing: _Writing, photos, shape: Shape, changed_ids) -> list[dict]:
    """Every feed of the shape written from one pass over its source (fan_out: a thread per file)."""
    from shopsync.catalog.transform import fan_out

    jobs = []
    for feed in _feeds_of(run, shape):
        jobs.append(_writer_job(run, feed, writing.contexts[feed.profile], feed.file_name,
                                counter=writing.counter(feed)))
        if shape in DELTA_SHAPES and feed.delta and changed_ids is not None:
            jobs.append(_writer_job(run, feed, writing.contexts[feed.profile], delta_name(feed.file_name),
                                    set(changed_ids)))
    if not jobs:
        return []
    return fan_out(ROW_SOURCES[shape](run, writing.ctx, photos), jobs)


def _writer_job(run: ExportRun, feed: FeedSettings, ctx: FeedContext, file_name: str, only_ids=None,
                counter: Counter[int] | None = None):
    """A fan-out consumer that writes one feed of a rows writer and returns its statistics (and counts its
    items per category in `counter`)."""
    from shopsync.catalog.feeds import get_writer
    from shopsync.catalog.render.sink import feed_stats

    writer = get_writer(feed.profile, run.tuning)
    path = run.workspace.out_dir(run.key) / file_name

    def consume(rows):
        selected = rows if only_ids is None else (row for row in rows if row.good_id in only_ids)
        if counter is not None:
            selected = _counted(selected, counter)
        with new_file(path) as out:
            return feed_stats(file_name, feed, writer.write(selected, out, ctx, feed))

    return consume


def _counted(items: Iterable, counter: Counter[int]) -> Iterator:
    for item in items:
        if item.category_id is not None:
            counter[item.category_id] += 1
        yield item


def _unmapped(run: ExportRun, writing: _Writing, maps: Mapping[str, Mapping[int, str]]) -> dict[str, dict]:
    """Per feed that lists them, the categories with offers but no marketplace id (category_maps.py). A catalog
    pass feed's offers are counted from what was read back, a rows feed's from the items it was given."""
    reports = {}
    for feed in run.shop.feeds:
        if feed.unmapped_policy == "ignore":
            continue
        offers = writing.offers.get(feed.file_name)
        if offers is None:
            offers = category_maps.offers_by_category(run.run_dir_path("offers") / f"{feed.file_name}.parquet")
        report = category_maps.feed_report(run.shop, feed, writing.contexts[feed.profile], maps, offers)
        if report is not None:
            reports[feed.file_name] = report
    return reports


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
    maps = category_maps.channel_maps(run)
    writing = _Writing(ctx, category_maps.feed_contexts(ctx, run.shop.feeds, maps))
    with gc_paused():
        photos = photo_files(run)           # one listing of the resized photos for every pass of this stage
        result, changed_ids = _render_pass(run, ctx, photos, _feeds_of(run, GOODS_FRAGMENTS), writing.contexts)
        catalog_stats = _in_shop_order(run, result.stats + _write_shape(run, writing, photos, GOODS_BY_ID,
                                                                        changed_ids), changed_ids)
    rejections = result.rejections
    write_rejections(run, rejections)
    raise_on_rejections(rejections, 0, run.shop.on_bad_item)
    companions = (_write_shape(run, writing, photos, CUSTOMERS, None)
                  + _write_shape(run, writing, photos, CERTIFICATES, None))
    stats = (catalog_stats + _write_shape(run, writing, photos, GOODS_BY_MODEL_GROUP, None)
             + _in_shop_order(run, companions, None))
    for feed_stats in stats:        # validation checks that a feed read back while written is still this file
        feed_stats["mtime_ns"] = os.stat(out_dir / feed_stats["file"]).st_mtime_ns
    pq.write_table(result.expected, run.run_dir_path("expected.parquet"))
    write_read_back(run, ReadBackNotes.from_json(result.read_back.as_json()))
    write_snapshot_counts(run, SnapshotCounts.from_json(result.counts))
    write_feed_stats(run, [FeedFileStats.from_json(feed_stats) for feed_stats in stats])
    unmapped = _unmapped(run, writing, maps)
    category_maps.enforce(run.shop, unmapped)      # `block`: fails here, so nothing of this run is published
    return {
        "stage": "write_feeds", "mode": result.mode, "worker_peaks_mb": result.worker_peaks_mb,
        "feeds": {s["file"]: {"rows": s["rows"], "bytes": s["bytes"]} for s in stats},
        "rejected": len(rejections), "rejected_by_reason": rejections.by_reason(), "seconds": elapsed(started),
        "unencodable": {s["file"]: {"count": s["replaced_chars"], "examples": s.get("replaced_examples", [])}
                        for s in stats if s.get("replaced_chars")},
        "unmapped_categories": unmapped,
    }
