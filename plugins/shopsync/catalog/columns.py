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
`batch_from_items` and `items_from_batch` convert both ways.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.model import CatalogItem, Characteristic, WarehouseStock, WholesaleTier
from shopsync.catalog.snapshot import GOODS_SCHEMA, QUANTITY

DEFAULT_PICTURE_SIZE = "detail"     # PhotoFiles made without a size (tests); the shop's comes from its settings
DEFAULT_UNIT = "шт"
MILLI_UNITS = 1000
CENT = Decimal("0.01")
MILLI = Decimal("0.001")

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

def _cents(value: Decimal | None) -> Decimal | None:
    """Money as the snapshot holds it (decimal(14, 2)); Arrow refuses to round on its own, format_money would."""
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def _thousandths(value: Decimal) -> Decimal:
    return value.quantize(MILLI, rounding=ROUND_HALF_UP)


def _item_record(item: CatalogItem) -> dict[str, Any]:
    return {
        "good_id": item.good_id, "name": item.name, "name_ua": item.name_ua, "short_name": item.short_name,
        "description": item.description, "description_ua": item.description_ua, "article": item.article,
        "barcode": item.barcode, "brand": item.brand, "country": item.country, "collection": item.collection,
        "category_id": item.category_id, "model_group_id": item.model_group_id,
        "model_group_name": item.model_group_name, "size": item.size,
        "color": item.color, "season": item.season, "sex": item.sex, "prime_cost": _cents(item.prime_cost),
        "supplier_code": item.supplier_code, "visible": item.visible, "price": _cents(item.price),
        "old_price": _cents(item.old_price), "wholesale_price": _cents(item.wholesale_price),
        "characteristics": [{"name": c.name, "value": c.value, "unit": c.unit, "slug": c.slug}
                            for c in item.characteristics],
        "warehouses": [{"warehouse_id": w.warehouse_id, "free": _thousandths(w.free)} for w in item.warehouses],
        "tiers": [{"min_qty": _thousandths(t.min_qty), "price": _cents(t.price)} for t in item.wholesale_tiers],
        "photos": [],
        "unit": item.unit, "min_order_qty": _thousandths(item.min_order_qty), "free_stock": item.free_stock,
        "pictures": list(item.pictures), "photo_names": list(item.photo_names),
    }


def batch_from_items(items: Iterable[CatalogItem]) -> pa.RecordBatch:
    """CatalogItems as one feed batch (their free_stock and pictures are taken as given)."""
    return pa.RecordBatch.from_pylist([_item_record(item) for item in items], schema=FEED_SCHEMA)


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
    for row in batch.to_pylist():
        yield CatalogItem(
            good_id=row["good_id"], name=row["name"], price=row["price"], old_price=row["old_price"],
            wholesale_price=row["wholesale_price"], free_stock=row["free_stock"],
            warehouses=[WarehouseStock(w["warehouse_id"], w["free"]) for w in row["warehouses"] or []],
            category_id=row["category_id"], article=row["article"], barcode=row["barcode"],
            name_ua=row["name_ua"], short_name=row["short_name"], description=row["description"],
            description_ua=row["description_ua"], brand=row["brand"], country=row["country"],
            collection=row["collection"], model_group_id=row["model_group_id"],
            model_group_name=row["model_group_name"], size=row["size"],
            color=row["color"], season=row["season"], sex=row["sex"], unit=row["unit"],
            min_order_qty=row["min_order_qty"], prime_cost=row["prime_cost"], supplier_code=row["supplier_code"],
            visible=bool(row["visible"]),
            characteristics=[Characteristic(c["name"], c["value"], c["unit"], c["slug"])
                             for c in row["characteristics"] or []],
            wholesale_tiers=[WholesaleTier(t["min_qty"], t["price"]) for t in row["tiers"] or []],
            pictures=list(row["pictures"] or []), photo_names=list(row["photo_names"] or []),
        )
