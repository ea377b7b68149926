"""Goods rendered into pass rows: checked (validation/rules.py), rendered for every target, and their offers
read back (reader.py) by the parser the validation uses, so what is validated is exactly what is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.model import FeedContext
from shopsync.catalog.render.reader import OfferReader
from shopsync.catalog.render.targets import BASE_FIELDS, OFFER_TYPE, Target, rows_schema
from shopsync.catalog.validation.read_back import OFFER_COLUMNS, FeedData, FeedUnreadable
from shopsync.catalog.validation.rules import Rejections, split_batch


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
class Rendering:
    """A feed batch rendered for every feed, its offers still being read back (see OfferReader)."""
    columns: dict[str, Any]
    rejected: pa.Table | None
    reads: dict[int, tuple[Any, np.ndarray]]      # target index -> (pending read, which rows have an offer)
    truncated: dict[str, int]


def render_rows(batch: pa.RecordBatch, ctx: FeedContext, targets: list[Target], reader: OfferReader) -> Rendering:
    """Check (with `ctx`), render for every feed (with its own context), and start reading back a feed batch
    (finish_rows gives the rows)."""
    rejections = Rejections()
    accepted = split_batch(batch, ctx, rejections)
    columns: dict[str, Any] = {
        "good_id": accepted.column("good_id"), "name": accepted.column("name"),
        "visible": accepted.column("visible"), "free_stock": accepted.column("free_stock"),
        "reasons": pa.nulls(accepted.num_rows, pa.list_(pa.string())),
    }
    reads, truncated = {}, {}
    for target in targets:
        rendered = target.writer.render(accepted, target.ctx, target.feed)
        columns[target.fragment] = rendered.fragments
        columns[target.offset] = columns[target.length] = pa.nulls(accepted.num_rows, pa.int64())
        truncated[target.file_name] = rendered.truncated
        if target.reads_back and accepted.num_rows:
            has_offer = pc.not_equal(pc.fill_null(rendered.fragments, ""), "").to_numpy(zero_copy_only=False)
            reads[target.index] = (reader.submit_fragments(rendered.fragments, target, target.ctx), has_offer)
    rejected = _rejected_rows(batch, rejections, rows_schema(targets)) if rejections.items else None
    return Rendering(columns, rejected, reads, truncated)


def finish_rows(rendering: Rendering, targets: list[Target], reader: OfferReader, read_back: ReadBack) -> pa.Table:
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


