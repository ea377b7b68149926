"""The catalog pass (run_pass): every catalog feed of a shop written from its goods snapshot, and remembered
per good.

Rendering a good for a feed gives a *fragment* (its <offer> element, its CSV line). Each fragment is read
back right away by the same parser the validation uses, so what is validated is exactly what is written.
The pass remembers, per good, where its fragment lies in the feed file and the offer read back from it, in
the shop's *pass cache* (workspace/rendered/catalog.arrow, good id order):

    good_id, name, visible, free_stock, reasons (why the good is left out; null: it is in the feeds),
    t<i>_offset, t<i>_length, t<i>_offer        for the i-th catalog feed

and keeps the feed files it describes beside it (workspace/rendered/<file>, hard links).

Full pass: every good of the snapshot is checked, rendered and read back.
Incremental pass: only the goods that changed in this run are; the bytes of every other good are copied
from the previous feed file, and its offer comes from the cache. Either way the rows stream, in good id
order, into the feed files, the new cache and the run's validation inputs (offers/<file>.parquet,
expected.parquet, rejections), so memory does not grow with the catalog. Both give byte-identical feeds
for the same snapshot (tests/catalog/test_pipeline.py).

The cache is used only when it describes the snapshot exactly as it was before this run's merge (a token
written by each merge, see changes.merge_changes) and was made by the same feeds, shop, categories and
code (a fingerprint); otherwise the pass is full. In an incremental pass the `truncated` count of
feeds.json covers the goods rendered in that pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from shopsync.catalog import snapshot
from shopsync.catalog.columns import feed_batch
from shopsync.catalog.render.cache import PassCache
from shopsync.catalog.render.cache import fingerprint as cache_fingerprint
from shopsync.catalog.render.reader import OfferReader
from shopsync.catalog.render.rows import ReadBack, Rendering, finish_rows, render_rows
from shopsync.catalog.render.sink import Sink
from shopsync.catalog.render.targets import PassPlan, Target, catalog_targets, rows_schema
from shopsync.catalog.validation.rules import Rejections


@dataclass
class PassResult:
    stats: list[dict]                  # per feed file written, in the order of the shop's feeds
    rejections: Rejections
    expected: pa.Table                 # good_id, free_stock, visible of every good in the feeds
    read_back: ReadBack
    mode: str                          # "full" or "incremental": whether the cache was used
    worker_peaks_mb: list[float] = field(default_factory=list)   # read-back worker processes, peak memory
    counts: dict[str, int] = field(default_factory=dict)         # the snapshot's goods, and visible ones


def run_pass(plan: PassPlan) -> PassResult:
    tuning = plan.tuning
    targets = catalog_targets(plan)
    cacheable = bool(targets) and plan.token is not None
    fingerprint = cache_fingerprint(plan, targets)
    cache = PassCache(plan.workspace)
    use_cache = (cacheable and plan.changed_ids is not None and plan.previous_token is not None
                 and cache.matches(fingerprint, plan.previous_token, targets))
    previous = cache.open_feeds(targets) if use_cache else {}
    cache.forget()   # whatever happens next, the old cache no longer describes the snapshot
    changed = None if plan.changed_ids is None else pa.array(sorted(set(plan.changed_ids)), pa.int64())
    read_back = ReadBack()
    reader = OfferReader(parallel=not use_cache and snapshot.row_count(plan.workspace.snapshot("goods"))
                         >= tuning.parallel_read_back_from_goods, tuning=tuning)
    try:
        sink = Sink(plan, targets, cache.data_path if cacheable else None, changed, previous)
        try:
            if use_cache:
                changes = _feed_batches(plan, snapshot.iter_batches(plan.changes, tuning.render_batch))
                new_rows = _rendered(changes, plan, targets, read_back, sink, reader)
                snapshot.merge_sorted(sink, cache.batches(targets), new_rows, changed, "good_id")
            else:
                batches = _feed_batches(plan, snapshot.iter_batches(plan.workspace.snapshot("goods"),
                                                                    tuning.render_batch))
                for rows, truncated in _pipelined(batches, plan, targets, reader, read_back):
                    sink.add_truncated(truncated)
                    sink.write(rows)
            stats = sink.close()
        except BaseException:
            sink.abort()
            raise
    finally:
        reader.close()
        for feed in previous.values():
            feed.file.close()
    if cacheable and not read_back.problems:
        cache.remember(fingerprint, plan.token, plan.out_dir, targets, sink.body_start)
    return PassResult(stats, sink.rejections, sink.expected_table(), read_back,
                      "incremental" if use_cache else "full", reader.worker_peaks_mb, sink.counts)


def _pipelined(batches: Iterator[pa.RecordBatch], plan: PassPlan, targets: list[Target], reader: OfferReader,
               read_back: ReadBack) -> Iterator[tuple[pa.Table, dict[str, int]]]:
    """Pass rows batch by batch, rendering up to tuning.render_in_flight batches ahead of the ones being read
    back."""
    pending: deque[Rendering] = deque()
    for batch in batches:
        pending.append(render_rows(batch, plan.ctx, targets, reader))
        if len(pending) >= plan.tuning.render_in_flight:
            yield _finished(pending.popleft(), targets, reader, read_back)
    while pending:
        yield _finished(pending.popleft(), targets, reader, read_back)


def _finished(rendering: Rendering, targets: list[Target], reader: OfferReader,
              read_back: ReadBack) -> tuple[pa.Table, dict[str, int]]:
    """A rendered batch's pass rows, and how many values its rendering cut to a format limit, per feed file."""
    return finish_rows(rendering, targets, reader, read_back), rendering.truncated


def _rendered(batches: Iterator[pa.RecordBatch], plan: PassPlan, targets: list[Target], read_back: ReadBack,
              sink: Sink, reader: OfferReader) -> pa.Table:
    tables = []
    for rows, truncated in _pipelined(batches, plan, targets, reader, read_back):
        sink.add_truncated(truncated)
        tables.append(rows)
    return pa.concat_tables([rows_schema(targets).empty_table(), *tables]).sort_by("good_id")


def _feed_batches(plan: PassPlan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    return (feed_batch(batch, plan.photo_base_url, plan.photos) for batch in batches)
