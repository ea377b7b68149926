"""Goods as Arrow record batches: what the catalog feed writers render, column by column.

The snapshot holds the goods as the accounting database has them (snapshot.GOODS_SCHEMA). A *feed batch*
is a snapshot batch with the values the feeds derive from it added once (FEED_SCHEMA):

    free_stock    int64          whole units of free stock over the shop's warehouses, never below 0
    pictures      list<string>   absolute URLs of the published photos (detail size), in display order
    photo_names   list<string>   the published photo file names (GoodPhotoList)
    unit          string         "шт" where the database has none
    min_order_qty decimal        1 where the database has none

Writers turn a feed batch into text with pyarrow compute kernels (C++), a whole column at a time, instead
of building a Python object per good and per characteristic: at 100k goods and 2M characteristics that is
the difference between seconds and tens of seconds. `CatalogItem` rows (model.py) remain the readable way
to describe goods in tests and in the writers that need Python per good (WooCommerce, wholesale prices);
`batch_from_items` and `items_from_batch` convert both ways, from one field table (below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from itertools import starmap
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.model import CatalogItem, Characteristic, WarehouseStock, WholesaleTier, cents, thousandths
from shopsync.catalog.snapshot import GOODS_SCHEMA, QUANTITY

DEFAULT_PICTURE_SIZE = "detail"     # PhotoFiles made without a size (tests); the shop's comes from its settings
DEFAULT_UNIT = "шт"
MILLI_UNITS = 1000

FEED_SCHEMA = pa.schema([
    *(field for field in GOODS_SCHEMA if field.name not in ("unit", "min_order_qty")),
    pa.field("unit", pa.string()),
    pa.field("min_order_qty", QUANTITY),
    pa.field("free_stock", pa.int64()),
    pa.field("pictures", pa.list_(pa.string())),
    pa.field("photo_names", pa.list_(pa.string())),
])


def free_stock_column(warehouses: pa.Array) -> pa.Array:
    """Per good: floor(sum of free over its warehouses), at least 0; exact (summed in thousandths)."""
    warehouses = _as_array(warehouses)
    goods = len(warehouses)
    flat = pc.list_flatten(warehouses)
    if len(flat) == 0:
        return pa.array(np.zeros(goods, dtype=np.int64))
    milli = pc.cast(pc.multiply(flat.field("free"), pa.scalar(Decimal(MILLI_UNITS), QUANTITY)), pa.int64(),
                    safe=False).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(warehouses).to_numpy()
    totals = np.zeros(goods, dtype=np.int64)
    np.add.at(totals, parents, milli)
    return pa.array(np.maximum(0, np.floor_divide(totals, MILLI_UNITS)))


@dataclass(frozen=True)
class PhotoFiles:
    """The resized photos there are to link to: their file names (photos.content_name) in the detail size."""
    names: pa.Array                    # string
    extension: str                     # ".jpg" / ".webp"
    size: str = DEFAULT_PICTURE_SIZE   # the photo size the links point at (photos.detail_size_name)

    @classmethod
    def none(cls) -> PhotoFiles:
        return cls(pa.array([], pa.string()), ".jpg")


def published_photo_names(photos: pa.Array, published: PhotoFiles) -> pa.ListArray:
    """Per good, the file names of its photos that were resized and published, in display order (a missing or
    broken original has none, so no feed links to a picture that is not there)."""
    photos = _empty_lists_for_nulls(photos)
    checksums = pc.list_flatten(photos).field("checksum")
    names = pc.binary_join_element_wise(pc.utf8_slice_codeunits(checksums, 0, 24), published.extension, "")
    keep = pc.is_in(names, published.names).to_numpy(zero_copy_only=False)
    owners = pc.list_parent_indices(photos).to_numpy()[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owners, minlength=len(photos)))])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), names.filter(pa.array(keep)))


def feed_batch(snapshot_batch: pa.RecordBatch | pa.Table, photo_base_url: str,
               published: PhotoFiles) -> pa.RecordBatch:
    """A snapshot batch with the derived columns of FEED_SCHEMA."""
    batch = _as_batch(snapshot_batch)
    photo_names = published_photo_names(batch.column("photos"), published)
    prefix = f"{photo_base_url}/{published.size}/"
    urls = pc.binary_join_element_wise(prefix, pc.list_flatten(photo_names), "")
    pictures = pa.ListArray.from_arrays(photo_names.offsets, urls)
    columns = {
        **{name: batch.column(name) for name in batch.schema.names},
        "unit": pc.coalesce(batch.column("unit"), pa.scalar(DEFAULT_UNIT)),
        "min_order_qty": pc.coalesce(batch.column("min_order_qty"), pa.scalar(Decimal(1), QUANTITY)),
        "free_stock": free_stock_column(batch.column("warehouses")),
        "pictures": pictures,
        "photo_names": photo_names,
    }
    return pa.RecordBatch.from_arrays([columns[field.name] for field in FEED_SCHEMA], schema=FEED_SCHEMA)


def _empty_lists_for_nulls(lists: pa.Array) -> pa.ListArray:
    lists = _as_array(lists)
    filled = pc.fill_null(lists, pa.scalar([], lists.type)) if lists.null_count else lists
    # from_arrays on the offsets re-bases a sliced array and drops the validity bitmap (no nulls left).
    offsets = pc.subtract(filled.offsets, filled.offsets[0])
    return pa.ListArray.from_arrays(offsets, pc.list_flatten(filled))


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _as_batch(data: pa.RecordBatch | pa.Table) -> pa.RecordBatch:
    if isinstance(data, pa.Table):
        return data.combine_chunks().to_batches()[0] if data.num_rows else pa.RecordBatch.from_pylist(
            [], schema=data.schema)
    return data


# --- CatalogItem <-> feed batch ---------------------------------------------------------------------------
#
# One field table: each CatalogItem field is the FEED_SCHEMA column of the same name (wholesale_tiers: tiers),
# and ITEM_FROM_COLUMN / COLUMN_FROM_ITEM convert the values where the two models hold them differently.
# Both directions go column by column (one Python list per field, no dict per good); an import-time check
# keeps the dataclass and the schema in step (docs/decisions.md, "One model of a good").

COLUMN_OF = {"wholesale_tiers": "tiers"}
SNAPSHOT_ONLY_COLUMNS = ("photos",)      # the photo records; items carry pictures and photo_names instead
ITEM_FIELDS = tuple(field.name for field in fields(CatalogItem))


def _column_of(field_name: str) -> str:
    return COLUMN_OF.get(field_name, field_name)


def _check_field_table() -> None:
    columns = {_column_of(name) for name in ITEM_FIELDS}
    expected = set(FEED_SCHEMA.names) - set(SNAPSHOT_ONLY_COLUMNS)
    if columns != expected:
        raise RuntimeError(f"CatalogItem and FEED_SCHEMA differ: {sorted(columns ^ expected)}")


def _listed(convert: Callable[[Any], Any]) -> Callable[[list], list]:
    return lambda values: [[convert(value) for value in row or ()] for row in values]


def _cents(value: Decimal | None) -> Decimal | None:
    """Money as the snapshot holds it (decimal(14, 2)); Arrow refuses to round on its own, format_money would."""
    return None if value is None else cents(value)


def _each(convert: Callable[[Any], Any]) -> Callable[[list], list]:
    return lambda values: [convert(value) for value in values]


# Column values (Python, from to_pylist) -> the field's values; fields not named here take them as they are.
ITEM_FROM_COLUMN: dict[str, Callable[[list], list]] = {
    "warehouses": _listed(lambda w: WarehouseStock(w["warehouse_id"], w["free"])),
    "characteristics": _listed(lambda c: Characteristic(c["name"], c["value"], c["unit"], c["slug"])),
    "wholesale_tiers": _listed(lambda t: WholesaleTier(t["min_qty"], t["price"])),
    "visible": _each(bool),
    "pictures": _each(lambda urls: list(urls or [])),
    "photo_names": _each(lambda names: list(names or [])),
}
# The fields' values -> the column's values (for pa.array with the column's type).
COLUMN_FROM_ITEM: dict[str, Callable[[list], list]] = {
    **{money: _each(_cents) for money in ("price", "old_price", "wholesale_price", "prime_cost")},
    "min_order_qty": _each(thousandths),
    "warehouses": _listed(lambda w: {"warehouse_id": w.warehouse_id, "free": thousandths(w.free)}),
    "characteristics": _listed(lambda c: {"name": c.name, "value": c.value, "unit": c.unit, "slug": c.slug}),
    "wholesale_tiers": _listed(lambda t: {"min_qty": thousandths(t.min_qty), "price": _cents(t.price)}),
    "pictures": _each(list),
    "photo_names": _each(list),
}


def batch_from_items(items: Iterable[CatalogItem]) -> pa.RecordBatch:
    """CatalogItems as one feed batch (their free_stock and pictures are taken as given)."""
    items = list(items)
    columns = {name: [[] for _ in items] for name in SNAPSHOT_ONLY_COLUMNS}
    for name in ITEM_FIELDS:
        values = [getattr(item, name) for item in items]
        convert = COLUMN_FROM_ITEM.get(name)
        columns[_column_of(name)] = convert(values) if convert else values
    return pa.RecordBatch.from_arrays([pa.array(columns[field.name], field.type) for field in FEED_SCHEMA],
                                      schema=FEED_SCHEMA)


def batches_from_items(items: Iterable[CatalogItem], size: int = 2000) -> Iterator[pa.RecordBatch]:
    chunk: list[CatalogItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield batch_from_items(chunk)
            chunk = []
    if chunk:
        yield batch_from_items(chunk)


def items_from_batch(batch: pa.RecordBatch) -> Iterator[CatalogItem]:
    """The rows of a feed batch as CatalogItems (for the writers that work per good in Python)."""
    values = []
    for name in ITEM_FIELDS:
        column = batch.column(_column_of(name)).to_pylist()
        convert = ITEM_FROM_COLUMN.get(name)
        values.append(convert(column) if convert else column)
    return starmap(CatalogItem, zip(*values, strict=True))


_check_field_table()
