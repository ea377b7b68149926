"""The catalog pass: every catalog feed of a shop written from its goods snapshot, and remembered per good.

Rendering a good for a feed gives a *fragment* (its <offer> element, its CSV line). Each fragment is read
back right away by the same parser the validation uses, so what is validated is exactly what is written.
The pass keeps, per good, its fragments and read-back offers in the shop's *pass cache*
(workspace/rendered/catalog.parquet, good id order):

    good_id, name, visible, free_stock, reasons (why the good is left out; null: it is in the feeds),
    t<i>_fragment, t<i>_offer    for the i-th catalog feed

Full pass: every good of the snapshot is checked, rendered and read back.
Incremental pass: only the goods that changed in this run are; every other good's row comes from the
cache. Either way the rows stream, in good id order, into the feed files, the new cache and the run's
validation inputs (offers/<file>.parquet, expected.parquet, rejections), so memory does not grow with the
catalog. Both give byte-identical feeds for the same snapshot.

The cache is used only when it describes the snapshot exactly as it was before this run's merge (a token
written by each merge, see stages.merge_dataset) and was made by the same feeds, shop, categories and
code (a fingerprint); otherwise the pass is full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopsync.catalog import snapshot
from shopsync.catalog.columns import FEED_SCHEMA, feed_batch, items_from_batch
from shopsync.catalog.feeds import feed_file_name, get_writer
from shopsync.catalog.feeds.base import FeedFile, TextEncoder, encode_fragments, is_columnar
from shopsync.catalog.model import FeedContext
from shopsync.catalog.validate import (
    OFFER_COLUMNS,
    PROFILES,
    YML_PROFILES,
    FeedData,
    FeedUnreadable,
    RejectedItem,
    Rejections,
    read_feed,
    split_batch,
)
from shopsync.catalog.workspace import ShopWorkspace, read_json, write_json
from shopsync.config import FeedSettings

BATCH = 5_000                       # goods per batch
READ_BACK_ROWS = 1_000              # fragments parsed back at a time
CACHE_FORMAT = 1
OFFER_TYPE = pa.struct([
    ("offer_id", pa.string()), ("name", pa.string()), ("price", pa.float64()), ("old_price", pa.float64()),
    ("stock", pa.float64()), ("category_id", pa.string()), ("picture_count", pa.int64()), ("pictures", pa.string()),
])
BASE_FIELDS = [
    pa.field("good_id", pa.int64()), pa.field("name", pa.string()), pa.field("visible", pa.bool_()),
    pa.field("free_stock", pa.int64()), pa.field("reasons", pa.list_(pa.string())),
]
# The modules whose code decides a fragment: a change to any of them invalidates the cache.
RENDERING_MODULES = ("columns.py", "feed_pass.py", "validate.py", "feeds/base.py", "feeds/yml.py",
                     "feeds/torgsoft_csv.py")


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
    def reads_back(self) -> bool:
        return self.feed.profile in PROFILES


def delta_name(file_name: str) -> str:
    stem, dot, ext = file_name.rpartition(".")
    return f"{stem}.delta.{ext}" if dot else f"{file_name}.delta"


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
        fields += [pa.field(target.fragment, pa.string()), pa.field(target.offer, OFFER_TYPE)]
    return pa.schema(fields)


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


def render_rows(batch: pa.RecordBatch, ctx: FeedContext, targets: list[Target], read_back: ReadBack) -> pa.Table:
    """Cache rows (good id order) for a feed batch: checked, rendered for every feed, read back."""
    rejections = Rejections()
    accepted = split_batch(batch, ctx, rejections)
    columns: dict[str, Any] = {
        "good_id": accepted.column("good_id"), "name": accepted.column("name"),
        "visible": accepted.column("visible"), "free_stock": accepted.column("free_stock"),
        "reasons": pa.nulls(accepted.num_rows, pa.list_(pa.string())),
    }
    truncated = {}
    for target in targets:
        rendered = target.writer.render(accepted, ctx, target.feed)
        columns[target.fragment] = rendered.fragments
        columns[target.offer] = _read_offers_back(rendered.fragments, target, ctx, read_back)
        truncated[target.file_name] = rendered.truncated
    schema = cache_schema(targets)
    rows = pa.Table.from_pydict(columns, schema=schema)
    if rejections.items:
        rows = pa.concat_tables([rows, _rejected_rows(batch, rejections, schema)]).sort_by("good_id")
    return rows.replace_schema_metadata({"truncated": json.dumps(truncated)})


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


def _read_offers_back(fragments: pa.StringArray, target: Target, ctx: FeedContext, read_back: ReadBack) -> pa.Array:
    """Each row's offer as the validation reads it from the written bytes (null: the row has no offer)."""
    rows = len(fragments)
    if not target.reads_back or rows == 0:
        return pa.nulls(rows, OFFER_TYPE)
    has_offer = pc.not_equal(pc.fill_null(fragments, ""), "").to_numpy(zero_copy_only=False)
    try:
        parsed = _parse_fragments(fragments, target, ctx)
    except FeedUnreadable as exc:
        read_back.problem(target.file_name, str(exc))
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


def _parse_fragments(fragments: pa.StringArray, target: Target, ctx: FeedContext) -> FeedData:
    """The offers in the fragments, read back from their encoded bytes a slice at a time (a parsed XML
    tree takes many times the memory of its text)."""
    import pandas as pd

    parts = [_parse_bytes(encode_fragments(fragments.slice(start, READ_BACK_ROWS), _encoder(target)), target, ctx)
             for start in range(0, len(fragments), READ_BACK_ROWS)]
    frame = pd.concat([part.frame for part in parts], ignore_index=True)
    malformed = [line for part in parts for line in part.malformed_rows]
    return FeedData(frame, missing_columns=parts[0].missing_columns, malformed_rows=malformed)


def _encoder(target: Target) -> TextEncoder:
    return TextEncoder(target.writer.encoding(target.feed))


def _parse_bytes(data: bytes, target: Target, ctx: FeedContext) -> FeedData:
    if target.feed.profile in YML_PROFILES:
        return read_feed(b"<offers>" + data + b"</offers>", target.feed.profile)
    settings = target.feed.model_copy(update={"header": True})
    header = _encoder(target).encode(target.writer.header(ctx, settings))
    return read_feed(header + data, target.feed.profile, settings.encoding)


# --- the rows' way out: feed files, cache, validation inputs -----------------------------------------------

class _Sink:
    """Takes cache rows in good id order and writes everything that comes from them."""

    def __init__(self, run_dir: Path, out_dir: Path, ctx: FeedContext, targets: list[Target],
                 cache_path: Path | None, changed: pa.Array | None):
        self.targets, self.changed = targets, changed
        self.files: dict[str, tuple[Any, FeedFile]] = {}
        for target in targets:
            self._open(out_dir / target.file_name, target, ctx)
            if target.delta_file and changed is not None:
                self._open(out_dir / target.delta_file, target, ctx)
        self.offers_dir = run_dir / "offers"
        self.offers_dir.mkdir(parents=True, exist_ok=True)
        self.offer_writers = {
            t.file_name: pq.ParquetWriter(self.offers_dir / f"{t.file_name}.parquet", _offers_schema())
            for t in targets if t.reads_back}
        self.cache = None if cache_path is None else snapshot.AtomicParquetWriter(
            cache_path, cache_schema(targets), compression="lz4")
        self.expected: list[pa.Table] = []
        self.rejections = Rejections()
        self.truncated = dict.fromkeys((t.file_name for t in targets), 0)

    def _open(self, path: Path, target: Target, ctx: FeedContext) -> None:
        out = open(path, "wb")   # noqa: SIM115 - closed in close()/abort()
        self.files[path.name] = (out, FeedFile(target.writer, out, ctx, target.feed))

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = rows.replace_schema_metadata(None)
        if self.cache is not None:
            self.cache.write(rows)
        in_delta = None if self.changed is None else pc.is_in(rows.column("good_id").combine_chunks(), self.changed)
        for target in self.targets:
            fragments = rows.column(target.fragment).combine_chunks()
            self.files[target.file_name][1].add_fragments(fragments)
            if target.delta_file and in_delta is not None:
                self.files[target.delta_file][1].add_fragments(fragments.filter(in_delta))
            if target.reads_back:
                offers = rows.column(target.offer).combine_chunks()
                offers = offers.filter(offers.is_valid())
                self.offer_writers[target.file_name].write_table(
                    pa.Table.from_arrays(offers.flatten(), schema=_offers_schema()))
        accepted = rows.filter(pc.is_null(rows.column("reasons")))
        self.expected.append(accepted.select(["good_id", "free_stock", "visible"]))
        rejected = rows.filter(pc.is_valid(rows.column("reasons")))
        for good_id, name, reasons in zip(*(rejected.column(c).to_pylist() for c in ("good_id", "name", "reasons")),
                                          strict=True):
            self.rejections.items.append(RejectedItem(good_id, name or "", tuple(reasons)))

    def add_truncated(self, rows: pa.Table) -> None:
        counts = json.loads((rows.schema.metadata or {}).get(b"truncated", b"{}"))
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
                    stats.append(_feed_stats(name, target.feed, written,
                                             self.truncated[target.file_name] if name == target.file_name else 0))
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


def _offers_schema() -> pa.Schema:
    return pa.schema(list(OFFER_TYPE))


def _feed_stats(file_name: str, feed: FeedSettings, stats: Any, truncated: int) -> dict:
    return {"file": file_name, "profile": feed.profile, "rows": stats.rows, "bytes": stats.bytes,
            "skipped": stats.skipped, "replaced_chars": stats.replaced_chars, "truncated": truncated}


# --- the pass ----------------------------------------------------------------------------------------------

@dataclass
class PassResult:
    stats: list[dict]                  # per feed file written, in the order of the shop's feeds
    rejections: Rejections
    expected: pa.Table                 # good_id, free_stock, visible of every good in the feeds
    read_back: ReadBack
    mode: str                          # "full" or "incremental": whether the cache was used


@dataclass(frozen=True)
class PassPlan:
    workspace: ShopWorkspace
    run_dir: Path
    out_dir: Path
    ctx: FeedContext
    feeds: list[FeedSettings]
    photo_base_url: str
    changed_ids: list[int] | None      # the goods this run changed (None: a full extract)
    changes: Path                      # their records (the run's changes/goods.parquet)
    previous_token: str | None         # the snapshot state the cache must describe to be used
    token: str | None                  # the snapshot state this pass reads


def run_pass(plan: PassPlan) -> PassResult:
    targets = catalog_targets(plan.feeds, plan.changed_ids is not None)
    cacheable = bool(targets) and plan.token is not None
    fingerprint = _fingerprint(plan, targets)
    cache = PassCache(plan.workspace)
    use_cache = (cacheable and plan.changed_ids is not None and plan.previous_token is not None
                 and cache.matches(fingerprint, plan.previous_token))
    cache.forget()   # whatever happens next, the old cache no longer describes the snapshot
    changed = None if plan.changed_ids is None else pa.array(sorted(set(plan.changed_ids)), pa.int64())
    read_back = ReadBack()
    sink = _Sink(plan.run_dir, plan.out_dir, plan.ctx, targets, cache.data_path if cacheable else None, changed)
    try:
        if use_cache:
            new_rows = _rendered(_feed_batches(plan, snapshot.iter_batches(plan.changes, BATCH)), plan, targets,
                                 read_back, sink)
            snapshot.merge_sorted(sink, cache.batches(), new_rows, changed, "good_id")
        else:
            for batch in _feed_batches(plan, snapshot.iter_batches(plan.workspace.snapshot("goods"), BATCH)):
                rows = render_rows(batch, plan.ctx, targets, read_back)
                sink.add_truncated(rows)
                sink.write(rows)
        stats = sink.close()
    except BaseException:
        sink.abort()
        raise
    if cacheable and not read_back.problems:
        cache.remember(fingerprint, plan.token)
    return PassResult(stats, sink.rejections, sink.expected_table(), read_back,
                      "incremental" if use_cache else "full")


def _rendered(batches: Iterator[pa.RecordBatch], plan: PassPlan, targets: list[Target], read_back: ReadBack,
              sink: _Sink) -> pa.Table:
    tables = []
    for batch in batches:
        rows = render_rows(batch, plan.ctx, targets, read_back)
        sink.add_truncated(rows)
        tables.append(rows.replace_schema_metadata(None))
    schema = cache_schema(targets)
    return pa.concat_tables([schema.empty_table(), *tables]).sort_by("good_id")


def _feed_batches(plan: PassPlan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    return (feed_batch(batch, plan.photo_base_url) for batch in batches)


def item_batches(workspace: ShopWorkspace, photo_base_url: str, ctx: FeedContext) -> Iterator[list]:
    """The snapshot's good goods as CatalogItem lists (for the writers that work per good)."""
    for batch in snapshot.iter_batches(workspace.snapshot("goods"), BATCH):
        yield list(items_from_batch(split_batch(feed_batch(batch, photo_base_url), ctx, Rejections())))


def _fingerprint(plan: PassPlan, targets: list[Target]) -> str:
    ctx = plan.ctx
    package = Path(__file__).resolve().parent
    payload = {
        "format": CACHE_FORMAT,
        "feeds": [target.feed.model_dump(mode="json") for target in targets],
        "shop": [ctx.shop_id, ctx.shop_name, ctx.company, ctx.url, ctx.currency, plan.photo_base_url],
        "categories": [astuple(category) for _, category in sorted(ctx.categories.items())],
        "code": {name: hashlib.sha256((package / name).read_bytes()).hexdigest() for name in RENDERING_MODULES},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class PassCache:
    """The shop's pass cache: rows in data_path, and what they describe in meta_path."""

    def __init__(self, workspace: ShopWorkspace):
        self.data_path = workspace.root / "rendered" / "catalog.parquet"
        self.meta_path = workspace.root / "rendered" / "catalog.json"

    def matches(self, fingerprint: str, token: str) -> bool:
        meta = read_json(self.meta_path, {})
        return self.data_path.exists() and meta.get("fingerprint") == fingerprint and meta.get("token") == token

    def batches(self) -> Iterator[pa.RecordBatch]:
        # Read whole before the sink replaces the file: iter_batches keeps its own handle on the old one.
        return snapshot.iter_batches(self.data_path, BATCH)

    def forget(self) -> None:
        self.meta_path.unlink(missing_ok=True)

    def remember(self, fingerprint: str, token: str) -> None:
        write_json(self.meta_path, {"fingerprint": fingerprint, "token": token})
