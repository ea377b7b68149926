"""YML (Yandex Market Language) feeds: generic `yml`, `rozetka_yml` and `prom_yml`.

Columnar: the writers render whole feed batches (columns.FEED_SCHEMA) with pyarrow compute kernels, one
<offer> text fragment per good (base.ColumnarFeedWriter, base.write_batches); only the small header
(shop, currencies, categories) is built with lxml. Memory is one batch, however many offers the file has.
The text is exactly what lxml's serializer writes (`etree.xmlfile`, pretty printed), byte for byte.

Shared rules (formats.md section 3; Rozetka's price-list requirements say the same):
- UTF-8, `<?xml version="1.0" encoding="UTF-8"?>`, `<yml_catalog date="YYYY-MM-DD HH:MM">` from
  ctx.generated_at (the only timestamp: output is deterministic).
- Control characters 0-31 other than TAB/LF/CR (and U+FFFE/U+FFFF, lone surrogates) are removed from all
  text; lxml would refuse them and marketplaces reject the feed.
- Escaping is lxml's: `&`, `<`, `>` in text and `&`, `<`, `>`, `"` in attributes become entities. `"` and `'`
  in element text stay literal: that is well-formed XML and every parser reads back the same string. CR in
  text is written as `&#13;`, and TAB/LF/CR in attributes as `&#9;`/`&#10;`/`&#13;`, so they read back as
  they are (a parser would turn a raw CR into LF, and raw whitespace in an attribute into spaces).
- Only visible items are written (an invisible item is a deletion); they are counted in stats.skipped.
- `available` is "true" when free stock > 0. The old price element is written only when it is above price.
- A missing value omits its element (an item without price has no <price>; validation reports it). "Missing"
  is None or "" before the control characters are removed: a value of control characters only gives an
  empty element.
- Parameters: one <param name=".." [unit=".."]>value</param> per characteristic with a non-empty value
  (after removing control characters); `unit` when the characteristic has one.

Element names the validation module relies on (keep them): offer@id, price, the old price element
(`oldprice`; Rozetka `price_old`), the stock element (`stock_quantity`; Prom `quantity_in_stock`),
categoryId, picture, name.

Profile decisions:
- rozetka_yml: <category rz_id=".."> from Category.external_id; description/description_ua in CDATA. CDATA
  cannot contain "]]>", so such a description is written as ordinary escaped text instead: any XML parser
  returns exactly the same string, while splitting or rewriting it inside CDATA would change the content.
- prom_yml: `selling_type` ("u" with wholesale tiers, else "r") and `group_id` (model group: sizes/colours
  become Prom "різновиди") are attributes of <offer>, the way Prom reads them (as child elements Prom
  ignores them). Wholesale tiers: <prices><price><value>..</value><quantity>..</quantity></price></prices>.
  The marketplace category (Category.external_id) goes to <portal_category_id>. Descriptions in CDATA as for
  Rozetka (Prom requires HTML descriptions in CDATA).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from shopsync.catalog.columns import batches_from_items
from shopsync.catalog.feeds.base import (
    Rendered,
    RowKind,
    SortKey,
    WriteStats,
    money_text,
    quantity_text,
    write_batches,
)
from shopsync.catalog.model import CatalogItem, Category, FeedContext
from shopsync.core.config import FeedSettings

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
FOOTER = "</offers>\n</shop>\n</yml_catalog>\n"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CDATA_END = "]]>"
# lxml's (libxml2's) escaping, in the order to apply it ("&" first).
_TEXT_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTRIBUTE_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\t", "&#9;"),
                       ("\n", "&#10;"), ("\r", "&#13;"))
# Offers are rendered in batches of this many items when they come as CatalogItems (write()).
ITEM_BATCH = 256


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 cannot carry."""
    # Fast path: a printable string has no control characters; the regex decides for the rest (TAB, LF, ...).
    return text if text.isprintable() else _XML_ILLEGAL.sub("", text)


def escape_text(text: str) -> str:
    """Element text as lxml writes it (`text` already cleaned by xml_text)."""
    for char, entity in _TEXT_ENTITIES:
        text = text.replace(char, entity)
    return text


# --- column kernels ------------------------------------------------------------------------------------------
#
# Most values need neither cleaning nor escaping. One regex pass over a column finds the rows that do; only
# those are cleaned and escaped (pc.filter) and put back in place (pc.replace_with_mask). Characteristic
# names, values and units repeat a lot (2M characteristics, a few thousand distinct values): they are
# dictionary encoded and only the distinct values are prepared.

# _XML_ILLEGAL for Arrow's RE2 (Arrow strings are valid UTF-8: they cannot hold surrogates).
_ILLEGAL_CLASS = r"\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}"
_XML_ILLEGAL_RE2 = f"[{_ILLEGAL_CLASS}]"
_TEXT_WORK = rf"[&<>\r{_ILLEGAL_CLASS}]"
_ATTRIBUTE_WORK = rf"[&<>\"\t\n\r{_ILLEGAL_CLASS}]"
_CDATA_WORK = rf"[{_ILLEGAL_CLASS}]|\]\]>"


def _rows_matching(values: pa.Array, pattern: str) -> pa.Array | None:
    """The mask of the rows matching (never null), None when there are none."""
    if len(values) == 0 or values.null_count == len(values):
        return None
    mask = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    return mask if pc.any(mask).as_py() else None


def clean_column(values: pa.Array) -> pa.Array:
    """xml_text over a string column."""
    mask = _rows_matching(values, _XML_ILLEGAL_RE2)
    if mask is None:
        return values
    cleaned = pc.replace_substring_regex(pc.filter(values, mask), _XML_ILLEGAL_RE2, "")
    return pc.replace_with_mask(values, mask, cleaned)


def _escape_all(values: pa.Array, entities: tuple[tuple[str, str], ...]) -> pa.Array:
    for char, entity in entities:
        values = pc.replace_substring(values, char, entity)
    return values


def _prepared(values: pa.Array, pattern: str, entities: tuple[tuple[str, str], ...]) -> pa.Array:
    """Cleaned (xml_text) and escaped, touching only the rows that need it."""
    mask = _rows_matching(values, pattern)
    if mask is None:
        return values
    subset = _escape_all(pc.replace_substring_regex(pc.filter(values, mask), _XML_ILLEGAL_RE2, ""), entities)
    return pc.replace_with_mask(values, mask, subset)


def text_column(values: pa.Array) -> pa.Array:
    """Element text as lxml writes it: cleaned (xml_text), then & < > CR escaped."""
    return _prepared(values, _TEXT_WORK, _TEXT_ENTITIES)


def attribute_column(values: pa.Array) -> pa.Array:
    """Attribute values as lxml writes them: cleaned (xml_text), then & < > " TAB LF CR escaped."""
    return _prepared(values, _ATTRIBUTE_WORK, _ATTRIBUTE_ENTITIES)


def _join(*parts: pa.Array | str) -> pa.Array:
    """Row-wise concatenation; null where any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def _non_empty(values: pa.Array) -> pa.Array:
    """True where the value is neither null nor "" (the condition of _add)."""
    return pc.fill_null(pc.greater(pc.binary_length(values), 0), False)


def _when(condition: pa.Array, text: pa.Array | str) -> pa.Array:
    """The text where condition holds, else "" (never null)."""
    return pc.fill_null(pc.if_else(condition, text, ""), "")


def element(tag: str, values: pa.Array) -> pa.Array:
    """`  <tag>text</tag>` lines, the values cleaned and escaped; "" where the value is None or ""."""
    return _when(_non_empty(values), _join(f"  <{tag}>", text_column(values), f"</{tag}>\n"))


def plain_element(tag: str, values: pa.Array) -> pa.Array:
    """Like `element` for text that needs no cleaning or escaping (numbers)."""
    return _when(_non_empty(values), _join(f"  <{tag}>", values, f"</{tag}>\n"))


def cdata_element(tag: str, values: pa.Array) -> pa.Array:
    """`<tag><![CDATA[text]]></tag>`; escaped text where the cleaned text contains "]]>"."""
    lines = _join(f"  <{tag}><![CDATA[", values, f"]]></{tag}>\n")
    mask = _rows_matching(values, _CDATA_WORK)
    if mask is not None:
        cleaned = clean_column(pc.filter(values, mask))
        has_end = pc.match_substring(cleaned, CDATA_END)
        subset = pc.if_else(has_end, _join(f"  <{tag}>", _escape_all(cleaned, _TEXT_ENTITIES), f"</{tag}>\n"),
                            _join(f"  <{tag}><![CDATA[", cleaned, f"]]></{tag}>\n"))
        lines = pc.replace_with_mask(lines, mask, subset)
    return _when(_non_empty(values), lines)


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
    unit = _when(_non_empty(units), _join(' unit="', attribute_column(units), '"'))
    line = _join('  <param name="', attribute_column(pc.fill_null(names, "")), '"', unit, ">", text_column(values),
                 "</param>\n")
    return pc.if_else(_non_empty(clean_column(values)), line, pa.scalar(None, pa.string()))


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


def _wholesale_prices(tiers: pa.Array) -> pa.Array:
    def render(flat: pa.Array) -> pa.Array:
        return _join("    <price>\n      <value>", money_text(pc.struct_field(flat, "price")),
                     "</value>\n      <quantity>", quantity_text(pc.struct_field(flat, "min_qty")),
                     "</quantity>\n    </price>\n")
    has_tiers = pc.fill_null(pc.greater(pc.list_value_length(tiers), 0), False)
    return _when(has_tiers, _join("  <prices>\n", per_row(tiers, render), "  </prices>\n"))


def _lookup(keys: pa.Array, mapping: dict[int, str]) -> pa.Array:
    """mapping[key] per row (text), "" where the key is null or not mapped."""
    if not mapping:
        return constant("", len(keys))
    found = pc.index_in(keys, value_set=pa.array(list(mapping), keys.type))
    return pc.fill_null(pc.take(pa.array(list(mapping.values()), pa.string()), found), "")


# --- writers -------------------------------------------------------------------------------------------------

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
        return _join(f"  <url>{prefix}", self.number("good_id"), "</url>\n")

    def prices(self) -> list[pa.Array | str]:
        """price, the pre-promo price under the profile's tag (only when above price), currencyId."""
        price, old_price = self.column("price"), self.column("old_price")
        promo = pc.fill_null(pc.greater(old_price, price), False)
        currency = escape_text(xml_text(self.ctx.currency))
        return [
            plain_element("price", money_text(price)),
            _when(promo, plain_element(self.old_price_tag, money_text(old_price))),
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


class YmlWriter:
    """Generic YML: the old DTD order plus the widely used oldprice / stock_quantity extensions."""

    profile: ClassVar[str] = "yml"
    default_file: ClassVar[str] = "yml.xml"
    kind: ClassVar[RowKind] = "catalog"
    sort_key: ClassVar[SortKey] = "good_id"
    old_price_tag: ClassVar[str] = "oldprice"

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        return write_batches(self, batches_from_items(rows, size=ITEM_BATCH), out, ctx, settings)

    # --- ColumnarFeedWriter --------------------------------------------------------------------------------

    def encoding(self, settings: FeedSettings) -> str:
        return "utf-8"

    def header(self, ctx: FeedContext, settings: FeedSettings) -> str:
        """Everything up to and including `<offers>\\n`, serialised by lxml."""
        buffer = io.BytesIO()
        with etree.xmlfile(buffer, encoding="utf-8") as xf:
            with xf.element("yml_catalog", date=ctx.generated_at.strftime("%Y-%m-%d %H:%M")):
                xf.write("\n")
                with xf.element("shop"):
                    xf.write("\n")
                    for header_element in self.shop_header(ctx):
                        xf.write(header_element, pretty_print=True)
                    with xf.element("offers"):
                        xf.write("\n")
                    xf.write("\n")
                xf.write("\n")
        document = XML_DECLARATION + buffer.getvalue().decode("utf-8") + "\n"
        if not document.endswith(FOOTER):   # pragma: no cover - lxml's serialisation is fixed
            raise AssertionError("unexpected YML document end")
        return document[:-len(FOOTER)]

    def footer(self, ctx: FeedContext, settings: FeedSettings) -> str:
        return FOOTER

    def render(self, batch: pa.RecordBatch, ctx: FeedContext, settings: FeedSettings) -> Rendered:
        offers = Offers(batch, ctx, self.old_price_tag)
        opening = _join('<offer id="', offers.number("good_id"), '" available="',
                        pc.if_else(offers.in_stock, "true", "false"), '"', *self.offer_attributes(offers), ">\n")
        text = _join(opening, *self.offer_children(offers), "</offer>\n")
        visible = pc.fill_null(offers.column("visible"), False)
        skipped = batch.num_rows - pc.sum(pc.cast(visible, pa.int64())).as_py() if batch.num_rows else 0
        return Rendered(fragments=_when(visible, text), skipped=skipped)

    # --- shop header ---------------------------------------------------------------------------------------

    def shop_header(self, ctx: FeedContext) -> Iterator[etree._Element]:
        for tag, text in (("name", ctx.shop_name), ("company", ctx.company), ("url", ctx.url)):
            header_element = etree.Element(tag)
            header_element.text = xml_text(text)
            yield header_element
        currencies = etree.Element("currencies")
        etree.SubElement(currencies, "currency", id=ctx.currency, rate="1")
        yield currencies
        categories = etree.Element("categories")
        for category in sorted(ctx.categories.values(), key=lambda c: c.id):
            category_element = etree.SubElement(categories, "category", id=str(category.id))
            if category.parent_id is not None:
                category_element.set("parentId", str(category.parent_id))
            for name, value in self.category_extra_attributes(category):
                category_element.set(name, xml_text(value))
            category_element.text = xml_text(category.name)
        yield categories

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return []

    # --- offers --------------------------------------------------------------------------------------------

    def offer_attributes(self, offers: Offers) -> list[pa.Array | str]:
        """Attributes after id and available, each ' name="value"' or ""."""
        return []

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            offers.url(),
            *offers.prices(),
            offers.category_id(),
            offers.pictures(),
            offers.element("name", "name"),
            offers.element("vendor", "brand"),
            offers.element("vendorCode", "article"),
            offers.element("description", "description"),
            offers.element("country_of_origin", "country"),
            offers.element("barcode", "barcode"),
            offers.stock("stock_quantity"),
            offers.params(),
        ]


class RozetkaYmlWriter(YmlWriter):
    profile: ClassVar[str] = "rozetka_yml"
    default_file: ClassVar[str] = "rozetka.xml"
    old_price_tag: ClassVar[str] = "price_old"

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return [("rz_id", category.external_id)] if category.external_id else []

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            offers.url(),
            *offers.prices(),
            offers.category_id(),
            offers.pictures(),
            offers.element("vendor", "brand"),
            offers.element("article", "article"),
            offers.stock("stock_quantity"),
            offers.element("name", "name"),
            offers.element("name_ua", "name_ua"),
            offers.cdata("description", "description"),
            offers.cdata("description_ua", "description_ua"),
            offers.params(),
        ]


class PromYmlWriter(YmlWriter):
    profile: ClassVar[str] = "prom_yml"
    default_file: ClassVar[str] = "prom.xml"

    def offer_attributes(self, offers: Offers) -> list[pa.Array | str]:
        tiers = pc.fill_null(pc.greater(pc.list_value_length(offers.column("tiers")), 0), False)
        group = offers.number("model_group_id")
        return [
            pc.if_else(tiers, ' selling_type="u"', ' selling_type="r"'),
            pc.fill_null(_join(' group_id="', group, '"'), ""),
        ]

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            *offers.prices(),
            offers.category_id(),
            offers.portal_category_id(),
            offers.pictures(),
            offers.element("name", "name"),
            offers.element("name_ua", "name_ua"),
            offers.element("vendor", "brand"),
            offers.element("vendorCode", "article"),
            offers.cdata("description", "description"),
            offers.cdata("description_ua", "description_ua"),
            offers.stock("quantity_in_stock"),
            pc.if_else(offers.in_stock, "  <presence>available</presence>\n",
                       "  <presence>not_available</presence>\n"),
            _wholesale_prices(offers.column("tiers")),
            offers.params(),
        ]
