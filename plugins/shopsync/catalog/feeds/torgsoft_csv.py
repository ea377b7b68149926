"""Torgsoft-compatible goods file (TSGoods.trs): what sites built for the Torgsoft exchange already parse.

Format (formats.md section 1): ';' delimiter, text cells in double quotes ('"' doubled inside), numbers
unquoted with a '.' decimal separator, empty values as empty unquoted cells, CRLF line ends, a header row
unless `settings.header` is false, encoding utf-8 / utf-8-sig (BOM) / cp1251. In cp1251 a character the
code page lacks (emoji, ...) is written as '?' and counted in WriteStats.replaced_chars.

Columns: `DEFAULT_COLUMNS`, or `settings.columns` (set and order; an unknown name is a ValueError listing
the known ones). `settings.characteristic_columns` adds columns named by the user whose cell is the value
of the characteristic with that name; such a column not listed in `settings.columns` is appended at the end.

Decisions:
- Prices: `RetailPrice` is the price before the promo (old_price when it is above price, else price) and
  `RetailPriceWithDiscount` is the price the customer pays (price); `PriceDiscountPercent` is the whole
  percent between them. So a site that shows RetailPrice crossed out next to RetailPriceWithDiscount shows
  the promo the way the accounting database defines it.
- `WarehouseQuantity` is free stock (0 for an invisible item: `Display` 0 hides it, stock goes with it).
- Invisible items are written (Display=0): this file is a full picture and the site hides them.
- This is a machine feed read by site scripts: text is not changed (no formula-injection apostrophes);
  only GoodName (500) and Description (255) are cut to the format's limits (counted in stats.truncated).

Rendering is columnar (base.FragmentWriter): each column is computed for a whole feed batch
(columns.FEED_SCHEMA) with pyarrow compute kernels, and a batch becomes one CSV line per good. `write`
takes CatalogItems (tests, callers with rows in hand) and renders them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.feeds.base import FragmentWriter, Rendered, WriteStats, money_text, quantity_text
from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.core.config import FeedSettings
from shopsync.core.errors import ConfigError

DELIMITER = ";"
LINE_END = "\r\n"
HEIGHT_CHARACTERISTIC = "Висота"
WIDTH_CHARACTERISTIC = "Ширина"
MATERIAL_SLUG_PART = "material"
NO_CATEGORY = -1

ColumnValues = Callable[[pa.RecordBatch, FeedContext], pa.Array]
_NULL_TEXT = pa.scalar(None, pa.string())


@dataclass(frozen=True, slots=True)
class Column:
    value: ColumnValues          # batch -> one string per row (null: empty cell)
    numeric: bool = False        # written unquoted
    limit: int | None = None     # longest text the format allows (code points)


# --- column building blocks: whole-batch pyarrow compute, no Python per good ------------------------------

def _field(name: str) -> ColumnValues:
    return lambda batch, ctx: batch.column(name)


def _as_string(name: str) -> ColumnValues:
    """Integers as decimal text."""
    return lambda batch, ctx: pc.cast(batch.column(name), pa.string())


def _money(name: str) -> ColumnValues:
    """Money as format_money writes it: '5399.00'."""
    return lambda batch, ctx: money_text(batch.column(name))


def _text(name: str) -> ColumnValues:
    """A text field; "" counts as missing (an empty cell)."""
    def value(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
        return _empty_as_null(batch.column(name))
    return value


def _empty_as_null(texts: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(texts, ""), _NULL_TEXT, texts)


def _quantity(name: str) -> ColumnValues:
    """decimal128(14,3) as format_quantity writes it: '1.000' -> '1', '2.500' -> '2.5'."""
    return lambda batch, ctx: quantity_text(batch.column(name))


def _list_values(lists: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The values of a list column, the row each belongs to, and the rebased offsets (slices and null lists
    handled: a null list has no values)."""
    offsets = lists.offsets.to_numpy()
    values = lists.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    lengths = np.diff(offsets)
    if lists.null_count:
        valid = lists.is_valid().to_numpy(zero_copy_only=False)
        keep = np.repeat(valid, lengths)
        values = values.filter(pa.array(keep))
        lengths = np.where(valid, lengths, 0)
    parents = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    rebased = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return values, parents, rebased


def _joined(name: str, separator: str,
            texts_of: Callable[[pa.Array], pa.Array] = lambda values: values) -> ColumnValues:
    """The texts of a list column's values joined per row; an empty result is an empty cell."""
    def value(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
        values, _, offsets = _list_values(batch.column(name))
        lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), texts_of(values))
        return _empty_as_null(pc.binary_join(lists, separator))
    return value


def _first_characteristic(matches: Callable[[pa.Array], pa.Array]) -> ColumnValues:
    """The value of each good's first characteristic that `matches` (flattened struct array -> bools)."""
    def value(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
        characteristics, parents, _ = _list_values(batch.column("characteristics"))
        if len(characteristics) == 0:
            return pa.nulls(batch.num_rows, pa.string())
        hits = np.flatnonzero(pc.fill_null(matches(characteristics), False).to_numpy(zero_copy_only=False))
        hit_rows = parents[hits]
        first = np.ones(len(hits), dtype=bool)
        first[1:] = hit_rows[1:] != hit_rows[:-1]      # values are in row order: keep each row's first hit
        index = np.full(batch.num_rows, -1, dtype=np.int64)
        index[hit_rows[first]] = hits[first]
        return pc.take(pc.struct_field(characteristics, "value"), pa.array(index, mask=index < 0))
    return value


def _characteristic_named(name: str) -> ColumnValues:
    return _first_characteristic(lambda chars: pc.equal(pc.struct_field(chars, "name"), name))


def _material(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return _first_characteristic(
        lambda chars: pc.match_substring(pc.struct_field(chars, "slug"), MATERIAL_SLUG_PART))(batch, ctx)


def _promo(batch: pa.RecordBatch) -> pa.Array:
    """base.has_promo: the old price is above the price (false where either is missing)."""
    return pc.fill_null(pc.greater(batch.column("old_price"), batch.column("price")), False)


def _retail_price(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return money_text(pc.if_else(_promo(batch), batch.column("old_price"), batch.column("price")))


def _cents(money: pa.Array) -> pa.Array:
    scale = money.type.scale
    factor = pa.scalar(Decimal(10) ** scale, pa.decimal128(scale + 1, 0))
    return pc.cast(pc.multiply(money, factor), pa.int64())


def _discount_percent(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    """base.discount_percent exactly, in integer cents: round_half_up(100 * (old - price) / old)."""
    promo = pc.and_(_promo(batch), pc.fill_null(pc.greater(_cents(batch.column("old_price")), 0), False))
    old = pc.if_else(promo, _cents(batch.column("old_price")), 1)
    price = pc.if_else(promo, _cents(batch.column("price")), 0)
    # floor(100 (o - p) / o + 1/2) = floor((200 (o - p) + o) / 2o); all positive, so integer division floors.
    numerator = pc.add(pc.multiply(pc.subtract(old, price), 200), old)
    percent = pc.divide(numerator, pc.multiply(old, 2))
    return pc.cast(pc.if_else(promo, percent, 0), pa.string())


def _category(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return pc.cast(pc.fill_null(batch.column("category_id"), NO_CATEGORY), pa.string())


def _category_path(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    ids = pa.array(list(ctx.categories), pa.int64())
    paths = pa.array([",".join(category.path) for category in ctx.categories.values()], pa.string())
    return pc.take(paths, pc.index_in(batch.column("category_id"), value_set=ids))


def _visible(batch: pa.RecordBatch) -> pa.Array:
    return pc.fill_null(batch.column("visible"), False)


def _warehouse_quantity(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return pc.cast(pc.if_else(_visible(batch), batch.column("free_stock"), 0), pa.string())


def _display(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return pc.if_else(_visible(batch), "1", "0")


def _producer_collection(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    parts = [batch.column(name) for name in ("country", "brand", "collection")]
    present = [pc.fill_null(pc.greater(pc.utf8_length(part), 0), False) for part in parts]
    joined = pc.binary_join_element_wise(*parts, ",", null_handling="replace", null_replacement="")
    return pc.if_else(pc.or_(pc.or_(present[0], present[1]), present[2]), joined, _NULL_TEXT)


def _partner_quantity_texts(warehouses: pa.Array) -> pa.Array:
    # "38=1,000": warehouse id = free quantity with three decimals (decimal128(14,3)) and a decimal comma.
    ids = pc.cast(pc.struct_field(warehouses, "warehouse_id"), pa.string())
    free = pc.replace_substring(pc.cast(pc.struct_field(warehouses, "free"), pa.string()), ".", ",")
    return pc.binary_join_element_wise(ids, free, "=")


def _nothing(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    return pa.nulls(batch.num_rows, pa.string())


STANDARD_COLUMNS: dict[str, Column] = {
    "GoodID": Column(_as_string("good_id"), numeric=True),
    "GoodName": Column(_field("name"), limit=500),
    "Description": Column(_text("description"), limit=255),
    "Country": Column(_text("country")),
    "Articul": Column(_text("article")),
    "RetailPrice": Column(_retail_price, numeric=True),
    "WholesalePrice": Column(_money("wholesale_price"), numeric=True),
    "RetailPriceWithDiscount": Column(_money("price"), numeric=True),
    "MinQuantityForOrder": Column(_quantity("min_order_qty"), numeric=True),
    "Height": Column(_characteristic_named(HEIGHT_CHARACTERISTIC)),
    "Width": Column(_characteristic_named(WIDTH_CHARACTERISTIC)),
    "Category": Column(_category, numeric=True),
    "WarehouseQuantity": Column(_warehouse_quantity, numeric=True),
    "Display": Column(_display, numeric=True),
    "TheSize": Column(_text("size")),
    "Color": Column(_text("color")),
    "Material": Column(_material),
    "FashionName": Column(_text("collection")),
    "Sex": Column(_as_string("sex"), numeric=True),
    "ShortName": Column(_text("short_name")),
    "GoodTypeFull": Column(_category_path),
    "ProducerCollectionFull": Column(_producer_collection),
    "Season": Column(_text("season")),
    "Barcode": Column(_text("barcode")),
    "PrimeCost": Column(_money("prime_cost"), numeric=True),
    "SupplierCode": Column(_text("supplier_code")),
    "Analogs": Column(_nothing),
    "ModelGoodID": Column(_as_string("model_group_id"), numeric=True),
    "GoodPhotoList": Column(_joined("photo_names", ",")),
    "GoodPhotoListWithLinks": Column(_joined("pictures", ",")),
    "WarehouseQuantityForPartner": Column(_joined("warehouses", "|", _partner_quantity_texts)),
    "PriceDiscountPercent": Column(_discount_percent, numeric=True),
}


DEFAULT_COLUMNS: tuple[str, ...] = (
    "GoodID", "GoodName", "Description", "Country", "Articul", "RetailPrice", "WholesalePrice",
    "RetailPriceWithDiscount", "MinQuantityForOrder", "Height", "Width", "Category", "WarehouseQuantity",
    "Display", "TheSize", "Color", "Material", "FashionName", "Sex", "ShortName", "GoodTypeFull",
    "ProducerCollectionFull", "Season", "Barcode", "PrimeCost", "SupplierCode", "Analogs",
    "ModelGoodID", "GoodPhotoList", "WarehouseQuantityForPartner", "PriceDiscountPercent",
)


class FeedColumnsError(ConfigError, ValueError):
    """The feed's `columns` / `characteristic_columns` settings are wrong: no retry can help (permanent)."""


def resolve_columns(settings: FeedSettings) -> list[tuple[str, Column]]:
    """The (name, column) list this feed writes, from the settings; FeedColumnsError names what is wrong."""
    custom = {name: Column(_characteristic_named(characteristic))
              for name, characteristic in settings.characteristic_columns.items()}
    clashes = sorted(custom.keys() & STANDARD_COLUMNS.keys())
    if clashes:
        raise FeedColumnsError(
            f"torgsoft_csv: characteristic_columns reuse standard column names: {', '.join(clashes)}")
    known = {**STANDARD_COLUMNS, **custom}
    names = list(settings.columns) if settings.columns is not None else list(DEFAULT_COLUMNS)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise FeedColumnsError(f"torgsoft_csv: unknown column(s) {', '.join(unknown)}; "
                         f"known columns: {', '.join(known)}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FeedColumnsError(f"torgsoft_csv: column(s) listed twice: {', '.join(duplicates)}")
    names += [name for name in custom if name not in names]
    return [(name, known[name]) for name in names]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class TorgsoftCsvWriter(FragmentWriter):
    profile: ClassVar[str] = "torgsoft_csv"

    def encoding(self, settings: FeedSettings) -> str:
        return settings.encoding

    def header(self, ctx: FeedContext, settings: FeedSettings) -> str:
        columns = resolve_columns(settings)
        if not settings.header:
            return ""
        return DELIMITER.join(_quoted(name) for name, _ in columns) + LINE_END

    def footer(self, ctx: FeedContext, settings: FeedSettings) -> str:
        return ""

    def render(self, batch: pa.RecordBatch, ctx: FeedContext, settings: FeedSettings) -> Rendered:
        cells: list[pa.Array] = []
        truncated = 0
        for _, column in resolve_columns(settings):
            values = column.value(batch, ctx)
            if column.limit is not None:
                cut = pc.sum(pc.greater(pc.utf8_length(values), column.limit)).as_py() or 0
                if cut:
                    values = pc.utf8_slice_codeunits(values, 0, column.limit)   # code points, like text[:limit]
                    truncated += cut
            if not column.numeric:
                values = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
            cells.append(values)
        if not cells:
            return Rendered(pc.fill_null(pa.nulls(batch.num_rows, pa.string()), LINE_END), truncated=truncated)
        line = pc.binary_join_element_wise(*cells, DELIMITER, null_handling="replace", null_replacement="")
        return Rendered(pc.binary_join_element_wise(line, LINE_END, ""), truncated=truncated)

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        resolve_columns(settings)   # a bad column setting fails even without rows or header
        return super().write(rows, out, ctx, settings)
