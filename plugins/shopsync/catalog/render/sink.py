"""The pass rows' way out, in good id order: the feed files (rendered bytes written, unchanged goods' bytes
copied from the previous files), the new cache, and the run's validation inputs (offers/<file>.parquet,
the expected goods, the rejections)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopsync.catalog.columns import FEED_SCHEMA
from shopsync.catalog.feeds.base import FeedFile, TextEncoder
from shopsync.catalog.render.targets import PassPlan, Target, cache_schema, offers_schema
from shopsync.catalog.validation.rules import RejectedItem, Rejections
from shopsync.catalog.workspace import new_file
from shopsync.core.config import FeedSettings

SINGLE_BYTE_CODECS = ("cp1251",)


class Sink:
    """Takes pass rows in good id order and writes everything that comes from them."""

    def __init__(self, plan: PassPlan, targets: list[Target], cache_path: Path | None, changed: pa.Array | None,
                 previous: dict[str, PreviousFeed]):
        self.targets, self.changed, self.previous = targets, changed, previous
        self.files: dict[str, tuple[Any, FeedFile]] = {}
        for target in targets:
            self._open(plan.out_dir / target.file_name, target)
            if target.delta_file and changed is not None:
                self._open(plan.out_dir / target.delta_file, target)
        self.body_start = {t.file_name: self.files[t.file_name][1].stream.count for t in targets}
        offers_dir = plan.run_dir / "offers"
        offers_dir.mkdir(parents=True, exist_ok=True)
        self.offer_writers = {
            t.file_name: pq.ParquetWriter(offers_dir / f"{t.file_name}.parquet", offers_schema())
            for t in targets if t.reads_back}
        self.cache = None if cache_path is None else _ArrowFileWriter(cache_path, cache_schema(targets),
                                                                     plan.tuning.render_batch)
        self.expected: list[pa.Table] = []
        self.rejections = Rejections()
        self.truncated = dict.fromkeys((t.file_name for t in targets), 0)
        self.counts = {"goods": 0, "visible": 0}       # every snapshot good, offered or not (validation/database.py)

    def _open(self, path: Path, target: Target) -> None:
        out = new_file(path)     # closed in close()/abort()
        self.files[path.name] = (out, FeedFile(target.writer, out, target.ctx, target.feed))

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
                    pa.Table.from_arrays(offers.flatten(), schema=offers_schema()))
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

    def __init__(self, path: Path, schema: pa.Schema, chunk_rows: int):
        self.path, self.tmp, self.schema = path, path.with_name(path.name + ".tmp"), schema
        self.chunk_rows = chunk_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pa.ipc.new_file(str(self.tmp), schema)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table, max_chunksize=self.chunk_rows)

    def commit(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def feed_stats(file_name: str, feed: FeedSettings, stats: Any) -> dict:
    """A written feed's entry in the run's feeds.json."""
    return {"file": file_name, "profile": feed.profile, "rows": stats.rows, "bytes": stats.bytes,
            "skipped": stats.skipped, "replaced_chars": stats.replaced_chars, "truncated": stats.truncated,
            "replaced_examples": list(stats.replaced_examples)}
