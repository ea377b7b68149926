"""WooCommerce product CSV, in the schema of WooCommerce's built-in product importer.

Row order contract: this writer needs the items of one model group next to each other, so it declares
the shape GOODS_BY_MODEL_GROUP: the caller passes items ordered by (model_group_id NULLS FIRST, good_id), i.e.
`sorted(items, key=SORT_KEYS["model_group"])` or `ORDER BY model_group_id NULLS FIRST, good_id`. Only one
model group is held in memory at a time; a group that shows up again after another one started is a
ValueError (the rows were not sorted as declared).

Structure:
- an item without a model group -> one `simple` row;
- a model group -> one `variable` parent row (SKU `model-{model_group_id}`, the model group's name in the
  database, or where it has none the first item's name without its size and colour (model_name), all sizes
  and colours as the variation attributes, the first item's categories, pictures, description and other
  characteristics) followed by one `variation` row per item (Parent = the parent SKU, its own size/colour,
  price, stock, first picture). A group of one item is still `variable`,
  so adding a second size later does not change the item's SKU or product type.

Decisions:
- SKU = `good-{good_id}`: unique and never changing, like the YML offer id. The article is not used because
  sizes of one model usually share it and because WooCommerce matches existing products on SKU: a changed
  article would create a duplicate product. The good id is also in `Meta: _shopsync_good_id`.
- Prices: with a promo (old_price above price) `Regular price` = old price and `Sale price` = price;
  otherwise `Regular price` = price and `Sale price` is empty.
- An invisible item is written with `Published` 0 (private), so an import hides it on the site.
- Attribute columns: the header must be written before any row, and rows stream, so the number of
  `Attribute N ...` column groups is fixed by `max_attributes` (default 40). Attributes beyond it are left
  out and counted in stats.truncated. Names repeated among an item's characteristics are merged into one
  attribute with several values. Attributes are custom (`global` 0), visible.
- Text is not protected against spreadsheet formula injection: this is a machine feed for WooCommerce's
  importer, which strips a leading apostrophe only from some columns (numbers, attribute values) but keeps
  it in Name, Description, SKU and Categories, so protection would corrupt product names. Only what would
  break the import is escaped: ',' inside list cells (attribute values, categories, images) as '\\,', and
  '>' inside a category name (the level separator) is replaced with '›'.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from shopsync.catalog.feeds.base import (
    CountingStream,
    EncodedTextSink,
    FeedWriter,
    TextEncoder,
    WriteStats,
    format_money,
    has_promo,
)
from shopsync.catalog.feeds.shape import GOODS_BY_MODEL_GROUP, Shape
from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.core.config import FeedSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning

GOOD_ID_META = "Meta: _shopsync_good_id"
BASE_COLUMNS: tuple[str, ...] = (
    "Type", "SKU", "Name", "Published", "Short description", "Description", "Regular price", "Sale price",
    "In stock?", "Stock", "Categories", "Images", "Parent", GOOD_ID_META,
)
ATTRIBUTE_FIELDS: tuple[str, ...] = ("name", "value(s)", "visible", "global")
DEFAULT_MAX_ATTRIBUTES = 40


def item_sku(item: CatalogItem) -> str:
    return f"good-{item.good_id}"


def model_sku(model_group_id: int) -> str:
    return f"model-{model_group_id}"


@dataclass(slots=True)
class _Attributes:
    """Attribute name -> values, in first-seen order."""
    values: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, value: str | None) -> None:
        if not name or not value:
            return
        values = self.values.setdefault(name, [])
        if value not in values:
            values.append(value)


def _list_cell(values: Iterable[str], separator: str = ", ") -> str:
    return separator.join(value.replace(",", "\\,") for value in values)


def _categories_cell(item: CatalogItem, ctx: FeedContext) -> str:
    category = ctx.categories.get(item.category_id) if item.category_id is not None else None
    if category is None:
        return ""
    return " > ".join(name.replace(",", "\\,").replace(">", "›") for name in category.path)


_BRACKETED = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")


def model_name(item: CatalogItem) -> str:
    """The name of the model's parent product: the model group's own name in the database when it has one,
    else the item's name without its variant details (see variant_free_name)."""
    own = (item.model_group_name or "").strip()
    return own or variant_free_name(item.name, (item.size, item.color))


def variant_free_name(name: str, variant_tokens: Iterable[str | None]) -> str:
    """`name` without its size and colour, in whatever language either is written.

    A bracketed part that holds the size or the colour lists the variant's details (`(пудровый, 38)`,
    `[black / 42]`): it goes whole, so the colour in another language than the database's colour field
    (a Russian name, a Ukrainian colour) leaves nothing behind. Elsewhere the tokens themselves are removed,
    then the separators and brackets they leave empty.
    """
    tokens = [token.strip() for token in variant_tokens if token and token.strip()]
    if not tokens:
        return name

    def holds_token(text: str) -> bool:
        return any(re.search(rf"(?<!\w){re.escape(token)}(?!\w)", text, flags=re.IGNORECASE) for token in tokens)

    cleaned = _BRACKETED.sub(lambda m: " " if holds_token(m.group(1)) else m.group(0), name)
    for token in tokens:
        cleaned = re.sub(rf"(?<!\w){re.escape(token)}(?!\w)", " ", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"\s*([,;/])(?:\s*[,;/])+", r"\1", cleaned)     # "a, , b" -> "a, b"
    cleaned = re.sub(r"([(\[])\s*[,;/-]*\s*", r"\1", cleaned)      # "( , b" -> "(b"
    cleaned = re.sub(r"\s*[,;/-]*\s*([)\]])", r"\1", cleaned)      # "a , )" -> "a)"
    cleaned = re.sub(r"\s*(\(\)|\[\])", " ", cleaned)              # brackets left empty
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" ,;/-")
    return cleaned or name


def _prices(item: CatalogItem) -> tuple[str, str]:
    if item.price is None:
        return "", ""
    if has_promo(item):
        return format_money(item.old_price), format_money(item.price)
    return format_money(item.price), ""


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _model_groups(rows: Iterable[CatalogItem]) -> Iterator[list[CatalogItem]]:
    """[item] for an item without model group, else all consecutive items of one model group."""
    seen: set[int] = set()
    group: list[CatalogItem] = []
    for item in rows:
        group_id = item.model_group_id
        if group and group_id != group[0].model_group_id:
            yield group
            group = []
        if group_id is None:
            yield [item]
            continue
        if not group:
            if group_id in seen:
                raise ValueError(f"woocommerce_csv: model group {group_id} appears twice; items must be ordered "
                                 "by (model_group_id NULLS FIRST, good_id) (sort_key 'model_group')")
            seen.add(group_id)
        group.append(item)
    if group:
        yield group


class WooCommerceCsvWriter(FeedWriter):
    profile: ClassVar[str] = "woocommerce_csv"
    shape: ClassVar[Shape] = GOODS_BY_MODEL_GROUP

    def __init__(self, tuning: Tuning = DEFAULT_TUNING, max_attributes: int = DEFAULT_MAX_ATTRIBUTES,
                 size_attribute: str = "Розмір", colour_attribute: str = "Колір") -> None:
        super().__init__(tuning)
        self.max_attributes = max_attributes
        self.size_attribute = size_attribute
        self.colour_attribute = colour_attribute

    def header(self) -> list[str]:
        attribute_columns = [f"Attribute {number} {part}"
                             for number in range(1, self.max_attributes + 1) for part in ATTRIBUTE_FIELDS]
        return [*BASE_COLUMNS, *attribute_columns]

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        encoder = TextEncoder(settings.encoding)
        stream = CountingStream(out)
        stream.write(encoder.bom)
        writer = csv.writer(EncodedTextSink(stream, encoder), lineterminator="\r\n")
        if settings.header:
            writer.writerow(self.header())
        written = truncated = 0
        for group in _model_groups(rows):
            for row, dropped in self._group_rows(group, ctx):
                writer.writerow(row)
                written += 1
                truncated += dropped
        return WriteStats(rows=written, bytes=stream.count, replaced_chars=encoder.replaced, truncated=truncated,
                          replaced_examples=tuple(encoder.examples))

    # --- rows ------------------------------------------------------------------------------------------------

    def _group_rows(self, group: list[CatalogItem], ctx: FeedContext) -> Iterator[tuple[list[str], int]]:
        first = group[0]
        if first.model_group_id is None:
            yield self._row(self._simple(first, ctx), self._characteristics(first))
            return
        parent_attributes = self._variation_attributes(group)
        variation_names = list(parent_attributes.values)
        for name, values in self._characteristics(first, exclude=variation_names).values.items():
            parent_attributes.values.setdefault(name, values)
        yield self._row(self._parent(group, ctx), parent_attributes)
        for item in group:
            own = _Attributes()
            for name in variation_names:
                own.add(name, item.size if name == self.size_attribute else item.color)
            yield self._row(self._variation(item, first.model_group_id), own)

    def _simple(self, item: CatalogItem, ctx: FeedContext) -> dict[str, str]:
        regular, sale = _prices(item)
        return {
            "Type": "simple", "SKU": item_sku(item), "Name": item.name, "Published": _flag(item.visible),
            "Description": item.description or "", "Regular price": regular, "Sale price": sale,
            "In stock?": _flag(item.free_stock > 0), "Stock": str(item.free_stock),
            "Categories": _categories_cell(item, ctx), "Images": _list_cell(item.pictures),
            GOOD_ID_META: str(item.good_id),
        }

    def _parent(self, group: list[CatalogItem], ctx: FeedContext) -> dict[str, str]:
        first = group[0]
        return {
            "Type": "variable", "SKU": model_sku(first.model_group_id), "Name": model_name(first),
            "Published": _flag(any(item.visible for item in group)), "Description": first.description or "",
            "In stock?": _flag(any(item.visible and item.free_stock > 0 for item in group)),
            "Categories": _categories_cell(first, ctx), "Images": _list_cell(first.pictures),
        }

    def _variation(self, item: CatalogItem, model_group_id: int) -> dict[str, str]:
        regular, sale = _prices(item)
        return {
            "Type": "variation", "SKU": item_sku(item), "Name": item.name, "Published": _flag(item.visible),
            "Regular price": regular, "Sale price": sale, "In stock?": _flag(item.free_stock > 0),
            "Stock": str(item.free_stock), "Images": _list_cell(item.pictures[:1]),
            "Parent": model_sku(model_group_id), GOOD_ID_META: str(item.good_id),
        }

    def _variation_attributes(self, group: list[CatalogItem]) -> _Attributes:
        attributes = _Attributes()
        for item in group:
            attributes.add(self.size_attribute, item.size)
        for item in group:
            attributes.add(self.colour_attribute, item.color)
        return attributes

    def _characteristics(self, item: CatalogItem, exclude: Iterable[str] = ()) -> _Attributes:
        excluded = set(exclude)
        attributes = _Attributes()
        for characteristic in item.characteristics:
            if characteristic.name not in excluded:
                attributes.add(characteristic.name, characteristic.value)
        return attributes

    def _row(self, cells: dict[str, str], attributes: _Attributes) -> tuple[list[str], int]:
        row = [cells.get(column, "") for column in BASE_COLUMNS]
        kept = list(attributes.values.items())[: self.max_attributes]
        for name, values in kept:
            row += [name, _list_cell(values), "1", "0"]
        row += [""] * (len(ATTRIBUTE_FIELDS) * (self.max_attributes - len(kept)))
        return row, len(attributes.values) - len(kept)

