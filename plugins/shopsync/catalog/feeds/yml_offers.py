"""The parts of a YML <offer> rendered column-wise: each kernel maps a feed batch column to one text per row
with pyarrow compute (C++), the way lxml's pretty printer writes it, byte for byte.

Characteristic names, values and units repeat a lot (2M characteristics, a few thousand distinct values):
they are dictionary encoded and only the distinct values are rendered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.feeds.base import money_text, quantity_text
from shopsync.catalog.feeds.xml_text import (
    CDATA_END,
    CDATA_WORK,
    TEXT_ENTITIES,
    attribute_column,
    clean_column,
    escape_all,
    escape_text,
    rows_matching,
    text_column,
    xml_text,
)
from shopsync.catalog.model import FeedContext


def join(*parts: pa.Array | str) -> pa.Array:
    """Row-wise concatenation; null where any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def non_empty(values: pa.Array) -> pa.Array:
    """True where the value is neither null nor "" (the condition of _add)."""
    return pc.fill_null(pc.greater(pc.binary_length(values), 0), False)


def when(condition: pa.Array, text: pa.Array | str) -> pa.Array:
    """The text where condition holds, else "" (never null)."""
    return pc.fill_null(pc.if_else(condition, text, ""), "")


def element(tag: str, values: pa.Array) -> pa.Array:
    """`  <tag>text</tag>` lines, the values cleaned and escaped; "" where the value is None or ""."""
    return when(non_empty(values), join(f"  <{tag}>", text_column(values), f"</{tag}>\n"))


def plain_element(tag: str, values: pa.Array) -> pa.Array:
    """Like `element` for text that needs no cleaning or escaping (numbers)."""
    return when(non_empty(values), join(f"  <{tag}>", values, f"</{tag}>\n"))


def cdata_element(tag: str, values: pa.Array) -> pa.Array:
    """`<tag><![CDATA[text]]></tag>`; escaped text where the cleaned text contains "]]>"."""
    lines = join(f"  <{tag}><![CDATA[", values, f"]]></{tag}>\n")
    mask = rows_matching(values, CDATA_WORK)
    if mask is not None:
        cleaned = clean_column(pc.filter(values, mask))
        has_end = pc.match_substring(cleaned, CDATA_END)
        subset = pc.if_else(has_end, join(f"  <{tag}>", escape_all(cleaned, TEXT_ENTITIES), f"</{tag}>\n"),
                            join(f"  <{tag}><![CDATA[", cleaned, f"]]></{tag}>\n"))
        lines = pc.replace_with_mask(lines, mask, subset)
    return when(non_empty(values), lines)


def constant(text: str, rows: int) -> pa.Array:
    return pa.repeat(pa.scalar(text, pa.string()), rows)


def per_row(lists: pa.Array, render: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Each row's list items rendered (`render` maps the flattened items to text) and joined, "" for none."""
    flat = pc.list_flatten(lists)
    pieces = pc.fill_null(render(flat), "")
    counts = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(lists) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), pieces), "")


def _codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes (int64) of a string column and its distinct values; null has the last code."""
    encoded = pc.dictionary_encode(values)
    distinct = pa.concat_arrays([encoded.dictionary, pa.nulls(1, pa.string())])
    codes = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64), distinct


def _distinct(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each row's code among the distinct codes, the distinct codes)."""
    encoded = pc.dictionary_encode(pa.array(codes))
    return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            encoded.dictionary.to_numpy(zero_copy_only=False))


def _render_params(names: pa.Array, units: pa.Array, values: pa.Array) -> pa.Array:
    """`  <param name=".." [unit=".."]>value</param>` lines; null where the cleaned value is empty."""
    unit = when(non_empty(units), join(' unit="', attribute_column(units), '"'))
    line = join('  <param name="', attribute_column(pc.fill_null(names, "")), '"', unit, ">", text_column(values),
                 "</param>\n")
    return pc.if_else(non_empty(clean_column(values)), line, pa.scalar(None, pa.string()))


def _params(characteristics: pa.Array) -> pa.Array:
    """One text per good: its <param> lines.

    The lines are rendered once per distinct (name, unit, value): 2M characteristics of a 100k catalog have a
    few thousand, and one `take` puts the rendered lines in place.
    """
    def render(flat: pa.Array) -> pa.Array:
        if len(flat) == 0:
            return pa.array([], pa.string())
        name_codes, names = _codes(pc.struct_field(flat, "name"))
        unit_codes, units = _codes(pc.struct_field(flat, "unit"))
        value_codes, values = _codes(pc.struct_field(flat, "value"))
        pair_index, pairs = _distinct(name_codes * len(units) + unit_codes)
        triple_index, triples = _distinct(pair_index * len(values) + value_codes)
        triple_pairs = pairs[triples // len(values)]
        lines = _render_params(names.take(pa.array(triple_pairs // len(units))),
                               units.take(pa.array(triple_pairs % len(units))),
                               values.take(pa.array(triples % len(values))))
        return lines.take(pa.array(triple_index))
    return per_row(characteristics, render)


def _pictures(pictures: pa.Array) -> pa.Array:
    return per_row(pictures, lambda urls: element("picture", urls))


def wholesale_prices(tiers: pa.Array) -> pa.Array:
    def render(flat: pa.Array) -> pa.Array:
        return join("    <price>\n      <value>", money_text(pc.struct_field(flat, "price")),
                     "</value>\n      <quantity>", quantity_text(pc.struct_field(flat, "min_qty")),
                     "</quantity>\n    </price>\n")
    has_tiers = pc.fill_null(pc.greater(pc.list_value_length(tiers), 0), False)
    return when(has_tiers, join("  <prices>\n", per_row(tiers, render), "  </prices>\n"))


def _lookup(keys: pa.Array, mapping: dict[int, str]) -> pa.Array:
    """mapping[key] per row (text), "" where the key is null or not mapped."""
    if not mapping:
        return constant("", len(keys))
    found = pc.index_in(keys, value_set=pa.array(list(mapping), keys.type))
    return pc.fill_null(pc.take(pa.array(list(mapping.values()), pa.string()), found), "")


class Offers:
    """The columns of one feed batch as offer parts: each property is one text per row."""

    def __init__(self, batch: pa.RecordBatch, ctx: FeedContext, old_price_tag: str) -> None:
        self.batch = batch
        self.ctx = ctx
        self.rows = batch.num_rows
        self.old_price_tag = old_price_tag

    def column(self, name: str) -> pa.Array:
        values = self.batch.column(name)
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values

    def number(self, name: str) -> pa.Array:
        return pc.cast(self.column(name), pa.string())

    @property
    def free_stock(self) -> pa.Array:
        return pc.fill_null(self.column("free_stock"), 0)

    @property
    def in_stock(self) -> pa.Array:
        return pc.greater(self.free_stock, 0)

    def url(self) -> pa.Array:
        prefix = escape_text(xml_text(f"{self.ctx.url.rstrip('/')}/product/"))
        return join(f"  <url>{prefix}", self.number("good_id"), "</url>\n")

    def prices(self) -> list[pa.Array | str]:
        """price, the pre-promo price under the profile's tag (only when above price), currencyId."""
        price, old_price = self.column("price"), self.column("old_price")
        promo = pc.fill_null(pc.greater(old_price, price), False)
        currency = escape_text(xml_text(self.ctx.currency))
        return [
            plain_element("price", money_text(price)),
            when(promo, plain_element(self.old_price_tag, money_text(old_price))),
            f"  <currencyId>{currency}</currencyId>\n" if self.ctx.currency else "",
        ]

    def category_id(self) -> pa.Array:
        return plain_element("categoryId", self.number("category_id"))

    def portal_category_id(self) -> pa.Array:
        mapping = {category.id: f"  <portal_category_id>{escape_text(xml_text(category.external_id))}"
                                "</portal_category_id>\n"
                   for category in self.ctx.categories.values() if category.external_id}
        return _lookup(self.column("category_id"), mapping)

    def pictures(self) -> pa.Array:
        return _pictures(self.column("pictures"))

    def params(self) -> pa.Array:
        return _params(self.column("characteristics"))

    def stock(self, tag: str) -> pa.Array:
        return plain_element(tag, pc.cast(self.free_stock, pa.string()))

    def element(self, tag: str, column: str) -> pa.Array:
        return element(tag, self.column(column))

    def cdata(self, tag: str, column: str) -> pa.Array:
        return cdata_element(tag, self.column(column))
