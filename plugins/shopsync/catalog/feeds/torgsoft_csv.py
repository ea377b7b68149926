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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO, ClassVar

from shopsync.catalog.feeds.base import (
    CountingStream,
    RowKind,
    SortKey,
    TextEncoder,
    WriteStats,
    discount_percent,
    format_money,
    format_quantity,
    format_quantity_comma,
    has_promo,
    truncate,
)
from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.config import FeedSettings

DELIMITER = ";"
LINE_END = "\r\n"
HEIGHT_CHARACTERISTIC = "Висота"
WIDTH_CHARACTERISTIC = "Ширина"
MATERIAL_SLUG_PART = "material"
NO_CATEGORY = -1


@dataclass(frozen=True, slots=True)
class Column:
    value: Callable[[CatalogItem, FeedContext], str | None]
    numeric: bool = False        # written unquoted
    limit: int | None = None     # longest text the format allows


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


def _text(value: str | None) -> str | None:
    return value or None


def _characteristic_named(name: str) -> Callable[[CatalogItem, FeedContext], str | None]:
    def value(item: CatalogItem, ctx: FeedContext) -> str | None:
        return next((c.value for c in item.characteristics if c.name == name), None)
    return value


def _material(item: CatalogItem, ctx: FeedContext) -> str | None:
    return next((c.value for c in item.characteristics if MATERIAL_SLUG_PART in c.slug), None)


def _retail_price(item: CatalogItem, ctx: FeedContext) -> str | None:
    return _money(item.old_price if has_promo(item) else item.price)


def _category_path(item: CatalogItem, ctx: FeedContext) -> str | None:
    category = ctx.categories.get(item.category_id) if item.category_id is not None else None
    return ",".join(category.path) if category else None


def _producer_collection(item: CatalogItem, ctx: FeedContext) -> str | None:
    parts = (item.country, item.brand, item.collection)
    return ",".join(part or "" for part in parts) if any(parts) else None


def _partner_quantities(item: CatalogItem, ctx: FeedContext) -> str | None:
    # "38=1,000|3=1,000": warehouse id = free quantity with three decimals and a decimal comma.
    return "|".join(f"{stock.warehouse_id}={format_quantity_comma(stock.free)}" for stock in item.warehouses) or None


STANDARD_COLUMNS: dict[str, Column] = {
    "GoodID": Column(lambda item, ctx: str(item.good_id), numeric=True),
    "GoodName": Column(lambda item, ctx: item.name, limit=500),
    "Description": Column(lambda item, ctx: _text(item.description), limit=255),
    "Country": Column(lambda item, ctx: _text(item.country)),
    "Articul": Column(lambda item, ctx: _text(item.article)),
    "RetailPrice": Column(_retail_price, numeric=True),
    "WholesalePrice": Column(lambda item, ctx: _money(item.wholesale_price), numeric=True),
    "RetailPriceWithDiscount": Column(lambda item, ctx: _money(item.price), numeric=True),
    "MinQuantityForOrder": Column(lambda item, ctx: format_quantity(item.min_order_qty), numeric=True),
    "Height": Column(_characteristic_named(HEIGHT_CHARACTERISTIC)),
    "Width": Column(_characteristic_named(WIDTH_CHARACTERISTIC)),
    "Category": Column(lambda item, ctx: str(NO_CATEGORY if item.category_id is None else item.category_id),
                       numeric=True),
    "WarehouseQuantity": Column(lambda item, ctx: str(item.free_stock if item.visible else 0), numeric=True),
    "Display": Column(lambda item, ctx: "1" if item.visible else "0", numeric=True),
    "TheSize": Column(lambda item, ctx: _text(item.size)),
    "Color": Column(lambda item, ctx: _text(item.color)),
    "Material": Column(_material),
    "FashionName": Column(lambda item, ctx: _text(item.collection)),
    "Sex": Column(lambda item, ctx: None if item.sex is None else str(item.sex), numeric=True),
    "ShortName": Column(lambda item, ctx: _text(item.short_name)),
    "GoodTypeFull": Column(_category_path),
    "ProducerCollectionFull": Column(_producer_collection),
    "Season": Column(lambda item, ctx: _text(item.season)),
    "Barcode": Column(lambda item, ctx: _text(item.barcode)),
    "PrimeCost": Column(lambda item, ctx: _money(item.prime_cost), numeric=True),
    "SupplierCode": Column(lambda item, ctx: _text(item.supplier_code)),
    "Analogs": Column(lambda item, ctx: None),
    "ModelGoodID": Column(lambda item, ctx: None if item.model_group_id is None else str(item.model_group_id),
                          numeric=True),
    "GoodPhotoList": Column(lambda item, ctx: ",".join(item.photo_names) or None),
    "GoodPhotoListWithLinks": Column(lambda item, ctx: ",".join(item.pictures) or None),
    "WarehouseQuantityForPartner": Column(_partner_quantities),
    "PriceDiscountPercent": Column(lambda item, ctx: str(discount_percent(item.price, item.old_price)), numeric=True),
}

DEFAULT_COLUMNS: tuple[str, ...] = (
    "GoodID", "GoodName", "Description", "Country", "Articul", "RetailPrice", "WholesalePrice",
    "RetailPriceWithDiscount", "MinQuantityForOrder", "Height", "Width", "Category", "WarehouseQuantity",
    "Display", "TheSize", "Color", "Material", "FashionName", "Sex", "ShortName", "GoodTypeFull",
    "ProducerCollectionFull", "Season", "Barcode", "PrimeCost", "SupplierCode", "Analogs",
    "ModelGoodID", "GoodPhotoList", "WarehouseQuantityForPartner", "PriceDiscountPercent",
)


def resolve_columns(settings: FeedSettings) -> list[tuple[str, Column]]:
    """The (name, column) list this feed writes, from the settings; ValueError names what is wrong."""
    custom = {name: Column(_characteristic_named(characteristic))
              for name, characteristic in settings.characteristic_columns.items()}
    clashes = sorted(custom.keys() & STANDARD_COLUMNS.keys())
    if clashes:
        raise ValueError(f"torgsoft_csv: characteristic_columns reuse standard column names: {', '.join(clashes)}")
    known = {**STANDARD_COLUMNS, **custom}
    names = list(settings.columns) if settings.columns is not None else list(DEFAULT_COLUMNS)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"torgsoft_csv: unknown column(s) {', '.join(unknown)}; "
                         f"known columns: {', '.join(known)}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"torgsoft_csv: column(s) listed twice: {', '.join(duplicates)}")
    names += [name for name in custom if name not in names]
    return [(name, known[name]) for name in names]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class TorgsoftCsvWriter:
    profile: ClassVar[str] = "torgsoft_csv"
    default_file: ClassVar[str] = "TSGoods.trs"
    kind: ClassVar[RowKind] = "catalog"
    sort_key: ClassVar[SortKey] = "good_id"

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        columns = resolve_columns(settings)
        encoder = TextEncoder(settings.encoding)
        stream = CountingStream(out)
        stream.write(encoder.bom)
        if settings.header:
            stream.write(encoder.encode(DELIMITER.join(_quoted(name) for name, _ in columns) + LINE_END))
        written = truncated = 0
        for item in rows:
            cells = []
            for _, column in columns:
                value = column.value(item, ctx)
                if value is None:
                    cells.append("")
                    continue
                if column.limit is not None:
                    value, was_cut = truncate(value, column.limit)
                    truncated += was_cut
                cells.append(value if column.numeric else _quoted(value))
            stream.write(encoder.encode(DELIMITER.join(cells) + LINE_END))
            written += 1
        return WriteStats(rows=written, bytes=stream.count, replaced_chars=encoder.replaced, truncated=truncated)
