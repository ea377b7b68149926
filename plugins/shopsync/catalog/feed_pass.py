"""The catalog pass: every catalog feed of a shop written from its goods snapshot, and remembered per good.

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
for the same snapshot (tests/catalog/test_export_stages.py).

The cache is used only when it describes the snapshot exactly as it was before this run's merge (a token
written by each merge, see stages.merge_dataset) and was made by the same feeds, shop, categories and
code (a fingerprint); otherwise the pass is full. In an incremental pass the `truncated` count of
feeds.json covers the goods rendered in that pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections import deque
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopsync.catalog import snapshot
from shopsync.catalog.columns import FEED_SCHEMA, PhotoFiles, feed_batch, items_from_batch
from shopsync.catalog.feeds import feed_file_name, get_writer
from shopsync.catalog.feeds.base import FeedFile, TextEncoder, encode_fragments, is_columnar
from shopsync.catalog.model import FeedContext
from shopsync.catalog.validation.read_back import (
    OFFER_COLUMNS,
    PROFILES,
    YML_PROFILES,
    FeedData,
    FeedUnreadable,
    read_feed,
    yml_offers_data,
)
from shopsync.catalog.validation.rules import RejectedItem, Rejections, split_batch
from shopsync.catalog.workspace import ShopWorkspace, new_file, read_json, write_json
from shopsync.core.config import FeedSettings, delta_name

log = logging.getLogger(__name__)
BATCH = 2_500                       # goods per batch
READ_BACK_ROWS = 1_000              # fragments parsed back at a time
SINGLE_BYTE_CODECS = ("cp1251",)
IN_FLIGHT = 2                       # batches rendered ahead of the read-back
READ_BACK_WORKERS = 1               # two were no faster on two cores (the main process renders), and cost memory
PARALLEL_FROM_GOODS = 4 * BATCH     # smaller catalogs are read back in this process (no worker start-up)
CACHE_FORMAT = 1
OFFER_TYPE = pa.struct([
    ("offer_id", pa.string()), ("name", pa.string()), ("price", pa.float64()), ("old_price", pa.float64()),
    ("stock", pa.float64()), ("category_id", pa.string()), ("picture_count", pa.int64()), ("pictures", pa.string()),
])
BASE_FIELDS = [
    pa.field("good_id", pa.int64()), pa.field("name", pa.string()), pa.field("visible", pa.bool_()),
    pa.field("free_stock", pa.int64()), pa.field("reasons", pa.list_(pa.string())),
]
# The modules whose code decides a cached row: a good's feed bytes (its batch, the writers, the profile's
# writer), whether it is left out and why (validation/rules.py), or its offers read back
# (validation/read_back.py). A change to any of them invalidates the cache; a change to any other module
# (the GX suite, the report and its escaper, ...) does not. test_feed_pass_fingerprint.py checks that each
# one's catalog imports are listed here or named there as not rendering.
RENDERING_MODULES = ("columns.py", "feed_pass.py", "model.py", "snapshot.py", "feeds/__init__.py",
                     "feeds/base.py", "feeds/yml.py", "feeds/torgsoft_csv.py", "validation/rules.py",
                     "validation/read_back.py")
CATALOG_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Target:
    """One catalog feed of the shop (ascending good id order), and its delta file in an incremental run."""
    index: int
    feed: FeedSettings
    file_name: str
    delta_file: str | None
    writer: Any

    @property
    def fragment(self) -> str:
        return f"t{self.index}_fragment"

    @property
    def offer(self) -> str:
        return f"t{self.index}_offer"

    @property
    def offset(self) -> str:
        return f"t{self.index}_offset"

    @property
    def length(self) -> str:
        return f"t{self.index}_length"

    @property
    def reads_back(self) -> bool:
        return self.feed.profile in PROFILES


def catalog_targets(feeds: list[FeedSettings], incremental: bool) -> list[Target]:
    """The shop's catalog feeds in good id order that render column-wise (the others: item_batches)."""
    targets = []
    for feed in feeds:
        writer = get_writer(feed.profile)
        if not is_good_id_catalog(writer) or not is_columnar(writer):
            continue
        name = feed_file_name(feed)
        delta = delta_name(name) if feed.delta and incremental else None
        targets.append(Target(len(targets), feed, name, delta, writer))
    return targets


def is_good_id_catalog(writer: Any) -> bool:
    return writer.kind == "catalog" and writer.sort_key == "good_id"


def cache_schema(targets: list[Target]) -> pa.Schema:
    fields = list(BASE_FIELDS)
    for target in targets:
        fields += [pa.field(target.offset, pa.int64()), pa.field(target.length, pa.int64()),
                   pa.field(target.offer, OFFER_TYPE)]
    return pa.schema(fields)


def rows_schema(targets: list[Target]) -> pa.Schema:
    """Rows on their way through a pass: the cache's columns, and the fragments of goods rendered in it
    (null for a good whose bytes are copied from the previous feed file)."""
    schema = cache_schema(targets)
    for target in targets:
        schema = schema.append(pa.field(target.fragment, pa.string()))
    return schema


# --- rendering goods into cache rows ---------------------------------------------------------------------

@dataclass
class ReadBack:
    """What reading the written fragments back found, per feed file: the columns it lacks, and problems."""
    missing_columns: dict[str, list[str]] = field(default_factory=dict)     # feed columns (CSV header)
    absent_offer_columns: dict[str, list[str]] = field(default_factory=dict)   # hence absent offer columns
    problems: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"missing_columns": self.missing_columns, "absent_offer_columns": self.absent_offer_columns,
                "problems": self.problems}

    def problem(self, file_name: str, text: str) -> None:
        self.problems.setdefault(file_name, []).append(text)


@dataclass
class _Rendering:
    """A feed batch rendered for every feed, its offers still being read back (see OfferReader)."""
    columns: dict[str, Any]
    rejected: pa.Table | None
    reads: dict[int, tuple[Any, np.ndarray]]      # target index -> (pending read, which rows have an offer)
    truncated: dict[str, int]


def render_rows(batch: pa.RecordBatch, ctx: FeedContext, targets: list[Target], reader: OfferReader) -> _Rendering:
    """Check, render for every feed, and start reading back a feed batch (finish_rows gives the rows)."""
    rejections = Rejections()
    accepted = split_batch(batch, ctx, rejections)
    columns: dict[str, Any] = {
        "good_id": accepted.column("good_id"), "name": accepted.column("name"),
        "visible": accepted.column("visible"), "free_stock": accepted.column("free_stock"),
        "reasons": pa.nulls(accepted.num_rows, pa.list_(pa.string())),
    }
    reads, truncated = {}, {}
    for target in targets:
        rendered = target.writer.render(accepted, ctx, target.feed)
        columns[target.fragment] = rendered.fragments
        columns[target.offset] = columns[target.length] = pa.nulls(accepted.num_rows, pa.int64())
        truncated[target.file_name] = rendered.truncated
        if target.reads_back and accepted.num_rows:
            has_offer = pc.not_equal(pc.fill_null(rendered.fragments, ""), "").to_numpy(zero_copy_only=False)
            reads[target.index] = (reader.submit(*_read_back_job(rendered.fragments, target, ctx)), has_offer)
    rejected = _rejected_rows(batch, rejections, rows_schema(targets)) if rejections.items else None
    return _Rendering(columns, rejected, reads, truncated)


def finish_rows(rendering: _Rendering, targets: list[Target], reader: OfferReader, read_back: ReadBack) -> pa.Table:
    """The rendered batch's pass rows, with the offers read back (good id order)."""
    columns = rendering.columns
    rows = len(columns["good_id"])
    for target in targets:
        columns[target.offer] = pa.nulls(rows, OFFER_TYPE)
        if target.index in rendering.reads:
            pending, has_offer = rendering.reads[target.index]
            columns[target.offer] = _offers(reader.result(pending), has_offer, target, read_back)
    schema = rows_schema(targets)
    table = pa.Table.from_pydict(columns, schema=schema)
    if rendering.rejected is not None:
        table = pa.concat_tables([table, rendering.rejected]).sort_by("good_id")
    return table


def _rejected_rows(batch: pa.RecordBatch, rejections: Rejections, schema: pa.Schema) -> pa.Table:
    by_id = {item.good_id: item for item in rejections.items}
    rows = batch.filter(pc.is_in(batch.column("good_id"), pa.array(list(by_id), pa.int64())))
    reasons = [list(by_id[good_id].reasons) for good_id in rows.column("good_id").to_pylist()]
    columns = {
        "good_id": rows.column("good_id"), "name": rows.column("name"), "visible": rows.column("visible"),
        "free_stock": rows.column("free_stock"), "reasons": pa.array(reasons, pa.list_(pa.string())),
    }
    for name in schema.names[len(BASE_FIELDS):]:
        columns[name] = pa.nulls(rows.num_rows, schema.field(name).type)
    return pa.Table.from_pydict(columns, schema=schema)


def _offers(parsed: FeedData | FeedUnreadable, has_offer: np.ndarray, target: Target,
            read_back: ReadBack) -> pa.Array:
    """Each row's offer as read back (null: the row has no offer); what does not add up is a problem."""
    rows = len(has_offer)
    if isinstance(parsed, FeedUnreadable):
        read_back.problem(target.file_name, str(parsed))
        return pa.nulls(rows, OFFER_TYPE)
    if len(parsed.frame) != int(has_offer.sum()):
        read_back.problem(target.file_name, f"{int(has_offer.sum())} offers written, {len(parsed.frame)} read back")
        return pa.nulls(rows, OFFER_TYPE)
    if parsed.malformed_rows:
        read_back.problem(target.file_name, f"{len(parsed.malformed_rows)} lines whose field count is not the "
                                            "header's")
    if parsed.missing_columns:
        read_back.missing_columns[target.file_name] = parsed.missing_columns
    absent = [name for name in OFFER_COLUMNS if name not in parsed.frame]
    if absent:
        read_back.absent_offer_columns[target.file_name] = absent
    offers = pa.StructArray.from_arrays([_offer_column(parsed.frame, name) for name in OFFER_COLUMNS],
                                        fields=list(OFFER_TYPE))
    positions = np.full(rows, -1, dtype=np.int64)
    positions[has_offer] = np.arange(len(parsed.frame))
    return offers.take(pa.array(positions, mask=positions < 0))


def _offer_column(frame: Any, name: str) -> pa.Array:
    values = frame[name] if name in frame else [None] * len(frame)
    column = pa.array(values, OFFER_TYPE.field(name).type, from_pandas=True)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _read_back_job(fragments: pa.StringArray, target: Target, ctx: FeedContext) -> tuple:
    """read_offers' arguments for these fragments: their bytes as written, a slice at a time (a parsed XML
    tree takes many times the memory of its text)."""
    encoder = _encoder(target)
    slices = [encode_fragments(fragments.slice(start, READ_BACK_ROWS), encoder)
              for start in range(0, len(fragments), READ_BACK_ROWS)]
    if target.feed.profile in YML_PROFILES:
        return target.feed.profile, "utf-8", b"", slices
    settings = target.feed.model_copy(update={"header": True})
    return target.feed.profile, settings.encoding, encoder.encode(target.writer.header(ctx, settings)), slices


def read_offers(profile: str, encoding: str, header: bytes, slices: list[bytes]) -> FeedData | FeedUnreadable:
    """The offers in written fragments (an unreadable slice is returned, not raised: it is a finding)."""
    import pandas as pd

    parts = []
    try:
        for data in slices:
            document = b"<offers>" + data + b"</offers>" if profile in YML_PROFILES else header + data
            parts.append(read_feed(document, profile, encoding))
    except FeedUnreadable as exc:
        return exc
    frame = pd.concat([part.frame for part in parts], ignore_index=True)
    malformed = [line for part in parts for line in part.malformed_rows]
    return FeedData(frame, missing_columns=parts[0].missing_columns, malformed_rows=malformed)


def _encoder(target: Target) -> TextEncoder:
    return TextEncoder(target.writer.encoding(target.feed))


class OfferReader:
    """Reads written fragments back: here, or (a full pass, many batches) the YML ones in READ_BACK_WORKERS
    worker processes (read_back_worker.py) that parse earlier batches while this process renders the next
    ones. Parsing the written XML back is the largest part of a full pass; lxml holds the GIL for much of
    it, so threads did not help, and the workers import lxml only (~30 MB each). CSV is read back here by
    pyarrow's parser, which runs outside the GIL."""

    def __init__(self, parallel: bool):
        self.workers = _start_workers() if parallel else []
        self.turn = 0
        self.worker_peaks_mb: list[float] = []

    def submit(self, profile: str, encoding: str, header: bytes, slices: list[bytes]) -> Any:
        if not self.workers or profile not in YML_PROFILES:
            return read_offers(profile, encoding, header, slices)
        worker = self.workers[self.turn % len(self.workers)]
        self.turn += 1
        worker.submit((profile, slices))
        return worker

    def result(self, pending: Any) -> FeedData | FeedUnreadable:
        """A submitted job's offers (each worker's results are taken in the order its jobs were submitted)."""
        if not any(pending is worker for worker in self.workers):
            return pending
        parts = pending.next_result()
        if isinstance(parts, Exception):
            return parts
        columns = {name: [value for part in parts for value in part[name]] for name in OFFER_COLUMNS}
        return yml_offers_data(columns)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.worker_peaks_mb = [worker.peak_mb for worker in self.workers if worker.peak_mb is not None]
        self.workers = []


def _start_workers() -> list:
    from shopsync.catalog.read_back_worker import start_worker

    workers = []
    try:
        for _ in range(READ_BACK_WORKERS):
            workers.append(start_worker())
    except OSError as exc:
        log.warning("reading feeds back in this process: cannot start a worker process (%s)", exc)
    return workers


# --- the rows' way out: feed files, cache, validation inputs -----------------------------------------------

class _Sink:
    """Takes pass rows in good id order and writes everything that comes from them."""

    def __init__(self, plan: PassPlan, targets: list[Target], cache: PassCache | None, changed: pa.Array | None,
                 previous: dict[str, PreviousFeed]):
        self.targets, self.changed, self.previous = targets, changed, previous
        self.files: dict[str, tuple[Any, FeedFile]] = {}
        for target in targets:
            self._open(plan.out_dir / target.file_name, target, plan.ctx)
            if target.delta_file and changed is not None:
                self._open(plan.out_dir / target.delta_file, target, plan.ctx)
        self.body_start = {t.file_name: self.files[t.file_name][1].stream.count for t in targets}
        offers_dir = plan.run_dir / "offers"
        offers_dir.mkdir(parents=True, exist_ok=True)
        self.offer_writers = {
            t.file_name: pq.ParquetWriter(offers_dir / f"{t.file_name}.parquet", _offers_schema())
            for t in targets if t.reads_back}
        self.cache = None if cache is None else _ArrowFileWriter(cache.data_path, cache_schema(targets))
        self.expected: list[pa.Table] = []
        self.rejections = Rejections()
        self.truncated = dict.fromkeys((t.file_name for t in targets), 0)
        self.counts = {"goods": 0, "visible": 0}       # every snapshot good, offered or not (validation/database.py)

    def _open(self, path: Path, target: Target, ctx: FeedContext) -> None:
        out = new_file(path)     # closed in close()/abort()
        self.files[path.name] = (out, FeedFile(target.writer, out, ctx, target.feed))

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = rows.combine_chunks()
        self.counts["goods"] += rows.num_rows
        self.counts["visible"] += int(pc.sum(pc.fill_null(rows.column("visible"), False)).as_py() or 0)
        accepted = pc.is_null(rows.column("reasons")).to_numpy(zero_copy_only=False)
        columns = {name: rows.column(name) for name in rows.column_names}
        for target in self.targets:
            columns[target.offset], columns[target.length] = self._write_feed(target, rows, accepted)
            if target.reads_back:
                offers = rows.column(target.offer).combine_chunks()
                offers = offers.filter(offers.is_valid())
                self.offer_writers[target.file_name].write_table(
                    pa.Table.from_arrays(offers.flatten(), schema=_offers_schema()))
        if self.cache is not None:
            self.cache.write(pa.Table.from_pydict({name: columns[name] for name in self.cache.schema.names},
                                                  schema=self.cache.schema))
        self.expected.append(rows.filter(pa.array(accepted)).select(["good_id", "free_stock", "visible"]))
        rejected = rows.filter(pa.array(~accepted))
        for good_id, name, reasons in zip(*(rejected.column(c).to_pylist() for c in ("good_id", "name", "reasons")),
                                          strict=True):
            self.rejections.items.append(RejectedItem(good_id, name or "", tuple(reasons)))

    def _write_feed(self, target: Target, rows: pa.Table, accepted: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Append the rows' bytes to the target's file: rendered fragments encoded, the others copied from the
        previous file. Returns the rows' new offsets (from the body start) and lengths."""
        feed_file = self.files[target.file_name][1]
        fragments = rows.column(target.fragment).combine_chunks()
        rendered = fragments.is_valid().to_numpy(zero_copy_only=False)
        lengths = np.where(rendered, fragment_lengths(fragments, feed_file.encoder),
                           pc.fill_null(rows.column(target.length), 0).to_numpy(zero_copy_only=False))
        lengths = np.where(accepted, lengths, 0)
        old_offsets = pc.fill_null(rows.column(target.offset), 0).to_numpy(zero_copy_only=False)
        offsets = feed_file.stream.count - self.body_start[target.file_name] + np.cumsum(lengths) - lengths
        for start, stop, is_rendered in _runs(rendered, old_offsets, lengths):
            if is_rendered:
                data = feed_file.write_fragments(fragments.slice(start, stop - start))
                if len(data) != int(lengths[start:stop].sum()):
                    raise RuntimeError(f"{target.file_name}: fragment lengths do not add up to the bytes written")
            else:
                feed_file.copy_from(self.previous[target.file_name].file,
                                    self.previous[target.file_name].body_start + int(old_offsets[start]),
                                    int(lengths[start:stop].sum()))
        written = int(np.count_nonzero(lengths))
        feed_file.count(rows=written, skipped=int(np.count_nonzero(accepted)) - written)
        if target.delta_file and self.changed is not None:
            in_delta = pc.and_(pc.is_in(rows.column("good_id"), self.changed), pa.array(rendered & accepted))
            delta = fragments.filter(in_delta)
            delta_file = self.files[target.delta_file][1]
            delta_file.write_fragments(delta)
            shown = int(pc.sum(pc.not_equal(delta, "")).as_py() or 0)
            delta_file.count(rows=shown, skipped=len(delta) - shown)
        return pa.array(offsets, pa.int64()), pa.array(lengths, pa.int64())

    def add_truncated(self, counts: dict[str, int]) -> None:
        for name, count in counts.items():
            self.truncated[name] += count

    def close(self) -> list[dict]:
        stats = []
        for target in self.targets:
            for name in (target.file_name, target.delta_file):
                if name in self.files:
                    out, feed_file = self.files.pop(name)
                    written = feed_file.close()
                    out.close()
                    stats.append(feed_stats(name, target.feed, dataclasses.replace(
                        written, truncated=self.truncated[target.file_name] if name == target.file_name else 0)))
        for writer in self.offer_writers.values():
            writer.close()
        if self.cache is not None:
            self.cache.commit()
        return stats

    def abort(self) -> None:
        for out, _ in self.files.values():
            out.close()
        for writer in self.offer_writers.values():
            writer.close()
        if self.cache is not None:
            self.cache.abort()

    def expected_table(self) -> pa.Table:
        schema = pa.schema([FEED_SCHEMA.field(name) for name in ("good_id", "free_stock", "visible")])
        return pa.concat_tables([pa.Table.from_batches([], schema), *self.expected]) if self.expected \
            else schema.empty_table()


def _runs(rendered: np.ndarray, old_offsets: np.ndarray, lengths: np.ndarray) -> Iterator[tuple[int, int, bool]]:
    """(start, stop, rendered) row ranges written in one go: rendered rows together, and copied rows whose
    bytes follow each other in the previous file. Rows without bytes (left out, rejected) are ignored: their
    offsets mean nothing, and they add nothing to a range's bytes."""
    rows = np.flatnonzero(lengths > 0)
    if len(rows) == 0:
        return
    kind = rendered[rows]
    ends = old_offsets[rows] + lengths[rows]
    follows = (kind[1:] == kind[:-1]) & (kind[1:] | (old_offsets[rows[1:]] == ends[:-1]))
    starts = np.concatenate([[0], np.flatnonzero(~follows) + 1])
    stops = np.concatenate([starts[1:], [len(rows)]])
    for first, last in zip(starts, stops, strict=True):
        yield int(rows[first]), int(rows[last - 1]) + 1, bool(kind[first])


def fragment_lengths(fragments: pa.StringArray, encoder: TextEncoder) -> np.ndarray:
    """Each fragment's size in the feed's encoding (0 for null)."""
    if encoder.codec in ("utf-8", "utf8"):
        sizes = pc.binary_length(fragments)
    elif encoder.codec in SINGLE_BYTE_CODECS:                 # one byte per character, '?' included
        sizes = pc.utf8_length(fragments)
    else:
        sizes = pa.array([len(encoder.encode(text)) if text is not None else 0 for text in fragments.to_pylist()])
    return pc.fill_null(sizes, 0).to_numpy(zero_copy_only=False).astype(np.int64)


@dataclass
class PreviousFeed:
    """A feed file the cache describes: its rows' offsets count from body_start."""
    file: Any
    body_start: int


class _ArrowFileWriter:
    """An Arrow IPC file written under a temporary name and renamed into place on commit.

    The cache is rewritten whole by every pass; uncompressed Arrow IPC writes at disk speed, where Parquet
    spent most of an incremental pass encoding and decoding it.
    """

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.tmp, self.schema = path, path.with_name(path.name + ".tmp"), schema
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pa.ipc.new_file(str(self.tmp), schema)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table, max_chunksize=BATCH)

    def commit(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _offers_schema() -> pa.Schema:
    return pa.schema(list(OFFER_TYPE))


def feed_stats(file_name: str, feed: FeedSettings, stats: Any) -> dict:
    """A written feed's entry in the run's feeds.json."""
    return {"file": file_name, "profile": feed.profile, "rows": stats.rows, "bytes": stats.bytes,
            "skipped": stats.skipped, "replaced_chars": stats.replaced_chars, "truncated": stats.truncated,
            "replaced_examples": list(stats.replaced_examples)}


# --- the pass ----------------------------------------------------------------------------------------------

@dataclass
class PassResult:
    stats: list[dict]                  # per feed file written, in the order of the shop's feeds
    rejections: Rejections
    expected: pa.Table                 # good_id, free_stock, visible of every good in the feeds
    read_back: ReadBack
    mode: str                          # "full" or "incremental": whether the cache was used
    worker_peaks_mb: list[float] = field(default_factory=list)   # read-back worker processes, peak memory
    counts: dict[str, int] = field(default_factory=dict)         # the snapshot's goods, and visible ones


@dataclass(frozen=True)
class PassPlan:
    workspace: ShopWorkspace
    run_dir: Path
    out_dir: Path
    ctx: FeedContext
    feeds: list[FeedSettings]
    photo_base_url: str
    photos: PhotoFiles                 # the resized photos there are to link to
    changed_ids: list[int] | None      # the goods this run changed (None: a full extract)
    changes: Path                      # their records (the run's changes/goods.arrow)
    previous_token: str | None         # the snapshot state the cache must describe to be used
    token: str | None                  # the snapshot state this pass reads


def run_pass(plan: PassPlan) -> PassResult:
    targets = catalog_targets(plan.feeds, plan.changed_ids is not None)
    cacheable = bool(targets) and plan.token is not None
    fingerprint = _fingerprint(plan, targets)
    cache = PassCache(plan.workspace)
    use_cache = (cacheable and plan.changed_ids is not None and plan.previous_token is not None
                 and cache.matches(fingerprint, plan.previous_token, targets))
    previous = cache.open_feeds(targets) if use_cache else {}
    cache.forget()   # whatever happens next, the old cache no longer describes the snapshot
    changed = None if plan.changed_ids is None else pa.array(sorted(set(plan.changed_ids)), pa.int64())
    read_back = ReadBack()
    reader = OfferReader(parallel=not use_cache
                         and snapshot.row_count(plan.workspace.snapshot("goods")) >= PARALLEL_FROM_GOODS)
    try:
        sink = _Sink(plan, targets, cache if cacheable else None, changed, previous)
        try:
            if use_cache:
                new_rows = _rendered(_feed_batches(plan, snapshot.iter_batches(plan.changes, BATCH)), plan, targets,
                                     read_back, sink, reader)
                snapshot.merge_sorted(sink, cache.batches(targets), new_rows, changed, "good_id")
            else:
                batches = _feed_batches(plan, snapshot.iter_batches(plan.workspace.snapshot("goods"), BATCH))
                for rows, truncated in _pipelined(batches, plan.ctx, targets, reader, read_back):
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


def _pipelined(batches: Iterator[pa.RecordBatch], ctx: FeedContext, targets: list[Target], reader: OfferReader,
               read_back: ReadBack) -> Iterator[tuple[pa.Table, dict[str, int]]]:
    """Pass rows batch by batch, rendering up to IN_FLIGHT batches ahead of the ones being read back."""
    pending: deque[_Rendering] = deque()
    for batch in batches:
        pending.append(render_rows(batch, ctx, targets, reader))
        if len(pending) >= IN_FLIGHT:
            yield _finished(pending.popleft(), targets, reader, read_back)
    while pending:
        yield _finished(pending.popleft(), targets, reader, read_back)


def _finished(rendering: _Rendering, targets: list[Target], reader: OfferReader,
              read_back: ReadBack) -> tuple[pa.Table, dict[str, int]]:
    """A rendered batch's pass rows, and how many values its rendering cut to a format limit, per feed file."""
    return finish_rows(rendering, targets, reader, read_back), rendering.truncated


def _rendered(batches: Iterator[pa.RecordBatch], plan: PassPlan, targets: list[Target], read_back: ReadBack,
              sink: _Sink, reader: OfferReader) -> pa.Table:
    tables = []
    for rows, truncated in _pipelined(batches, plan.ctx, targets, reader, read_back):
        sink.add_truncated(truncated)
        tables.append(rows)
    return pa.concat_tables([rows_schema(targets).empty_table(), *tables]).sort_by("good_id")


def _feed_batches(plan: PassPlan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    return (feed_batch(batch, plan.photo_base_url, plan.photos) for batch in batches)


def item_batches(workspace: ShopWorkspace, photo_base_url: str, photos: PhotoFiles,
                 ctx: FeedContext) -> Iterator[list]:
    """The snapshot's good goods as CatalogItem lists (for the writers that work per good)."""
    for batch in snapshot.iter_batches(workspace.snapshot("goods"), BATCH):
        yield list(items_from_batch(split_batch(feed_batch(batch, photo_base_url, photos), ctx, Rejections())))


def _fingerprint(plan: PassPlan, targets: list[Target]) -> str:
    ctx = plan.ctx
    payload = {
        "format": CACHE_FORMAT,
        "feeds": [target.feed.model_dump(mode="json") for target in targets],
        "shop": [ctx.shop_id, ctx.shop_name, ctx.company, ctx.url, ctx.currency, plan.photo_base_url],
        "categories": [astuple(category) for _, category in sorted(ctx.categories.items())],
        "code": code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def code_fingerprint(catalog_dir: Path = CATALOG_DIR) -> dict[str, str]:
    """The hash of each rendering module's source under catalog_dir (the installed package by default)."""
    return {name: hashlib.sha256((catalog_dir / name).read_bytes()).hexdigest() for name in RENDERING_MODULES}


class PassCache:
    """The shop's pass cache: rows in data_path, what they describe in meta_path, and the feed files their
    offsets point into (hard links to the last files written)."""

    def __init__(self, workspace: ShopWorkspace):
        self.root = workspace.root / "rendered"
        self.data_path = self.root / "catalog.arrow"
        self.meta_path = self.root / "catalog.json"

    def feed_path(self, target: Target) -> Path:
        return self.root / target.file_name

    def matches(self, fingerprint: str, token: str, targets: list[Target]) -> bool:
        meta = read_json(self.meta_path, {})
        feeds = meta.get("feeds", {})
        return (self.data_path.exists() and meta.get("fingerprint") == fingerprint and meta.get("token") == token
                and all(self._intact(target, feeds.get(target.file_name)) for target in targets))

    def _intact(self, target: Target, recorded: dict | None) -> bool:
        path = self.feed_path(target)
        return recorded is not None and path.exists() and path.stat().st_size == recorded["size"]

    def open_feeds(self, targets: list[Target]) -> dict[str, PreviousFeed]:
        feeds = read_json(self.meta_path, {})["feeds"]
        return {target.file_name: PreviousFeed(open(self.feed_path(target), "rb"),  # noqa: SIM115 - run_pass closes
                                               feeds[target.file_name]["body_start"]) for target in targets}

    def batches(self, targets: list[Target]) -> Iterator[pa.RecordBatch]:
        """The cached rows as pass rows (no fragments: their bytes are in the previous files)."""
        # Read batch by batch (a memory map would count the whole file as resident); the open file stays the
        # old one when the new cache is renamed over it.
        reader = pa.ipc.open_file(pa.OSFile(str(self.data_path)))
        schema = rows_schema(targets)
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            columns = [batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, field.type)
                       for name, field in zip(schema.names, schema, strict=True)]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    def forget(self) -> None:
        self.meta_path.unlink(missing_ok=True)

    def remember(self, fingerprint: str, token: str, out_dir: Path, targets: list[Target],
                 body_start: dict[str, int]) -> None:
        feeds = {}
        for target in targets:
            _link_into_place(out_dir / target.file_name, self.feed_path(target))
            feeds[target.file_name] = {"body_start": body_start[target.file_name],
                                       "size": self.feed_path(target).stat().st_size}
        write_json(self.meta_path, {"fingerprint": fingerprint, "token": token, "feeds": feeds})


def _link_into_place(source: Path, target: Path) -> None:
    """`target` becomes the same file as `source` (a copy where hard links are not possible)."""
    if target.exists() and os.path.samefile(source, target):
        return                      # rename() between two links of one file would do nothing, leaving tmp
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
