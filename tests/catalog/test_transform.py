"""Snapshot records become feed rows; one pass feeds several writers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from shopsync.catalog.columns import PhotoFiles, feed_batch, free_stock_column, items_from_batch
from shopsync.catalog.snapshot import GOODS_SCHEMA
from shopsync.catalog.transform import categories_from_records, certificate_from_record, fan_out


def test_category_paths_follow_parents_and_skip_inactive():
    categories = categories_from_records([
        {"id": 1, "parent_id": None, "name": "Взуття", "name_ua": None, "is_active": True, "external_id": None},
        {"id": 2, "parent_id": 1, "name": "Балетки", "name_ua": None, "is_active": True, "external_id": "4637"},
        {"id": 3, "parent_id": 1, "name": "Архів", "name_ua": None, "is_active": False, "external_id": None},
    ])
    assert sorted(categories) == [1, 2]
    assert categories[2].path == ("Взуття", "Балетки")
    assert categories[2].external_id == "4637"


@pytest.mark.parametrize(("free", "shown"), [
    (["2.999"], 2), (["0"], 0), (["-1"], 0), (["5"], 5), (["0.4", "0.6"], 1), (["1.5", "-0.6"], 0), ([], 0),
])
def test_free_stock_is_whole_units_never_negative(free, shown):
    warehouses = pa.array([[{"warehouse_id": i, "free": Decimal(f)} for i, f in enumerate(free)]],
                          GOODS_SCHEMA.field("warehouses").type)
    assert free_stock_column(warehouses).to_pylist() == [shown]


def test_feed_batch_sums_free_stock_over_warehouses_and_builds_picture_urls():
    record = {
        "good_id": 7, "name": "Кеди", "price": Decimal("999.00"), "old_price": None, "wholesale_price": None,
        "warehouses": [{"warehouse_id": 1, "free": Decimal("2")}, {"warehouse_id": 2, "free": Decimal("1.5")}],
        "category_id": 2, "characteristics": [{"name": "Колір", "value": "білий", "unit": None, "slug": "kolir"}],
        "tiers": [], "visible": True, "unit": None,
        "photos": [{"position": 0, "original_path": "a.jpg", "checksum": "ab12" + "0" * 60},
                   {"position": 1, "original_path": "broken.jpg", "checksum": "ff" * 32}],
        "min_order_qty": None,
        **{key: None for key in (
            "article", "barcode", "name_ua", "short_name", "description", "description_ua", "brand", "country",
            "collection", "model_group_id", "size", "color", "season", "sex", "prime_cost", "supplier_code")},
    }
    no_photos = {**record, "good_id": 8, "photos": None}
    resized = PhotoFiles(pa.array(["ab12" + "0" * 20 + ".jpg", "cd34.jpg"]), ".jpg")    # broken.jpg was not
    batch = feed_batch(pa.RecordBatch.from_pylist([record, no_photos], schema=GOODS_SCHEMA),
                       "https://shop.example/photos", resized)
    item, bare = items_from_batch(batch)
    assert item.free_stock == 3
    assert item.pictures == ["https://shop.example/photos/detail/ab1200000000000000000000.jpg"]
    assert item.photo_names == ["ab1200000000000000000000.jpg"]
    assert item.characteristics[0].slug == "kolir"
    assert (item.unit, item.min_order_qty) == ("шт", Decimal(1))
    assert (bare.pictures, bare.photo_names) == ([], [])


def test_certificate_past_its_date_is_shown_expired():
    record = {"barcode": "1", "nominal": Decimal(500), "currency": "UAH", "status": "active",
              "valid_until": date(2026, 1, 1)}
    assert certificate_from_record(record, date(2026, 6, 1)).status == "expired"
    assert certificate_from_record(record, date(2025, 6, 1)).status == "active"


def test_fan_out_feeds_every_consumer_the_whole_pass():
    chunks = [list(range(i, i + 10)) for i in range(0, 100, 10)]
    results = fan_out(iter(chunks), [sum, lambda rows: len(list(rows)), lambda rows: max(rows)])
    assert results == [sum(range(100)), 100, 99]


def test_fan_out_raises_a_consumer_failure_without_hanging():
    def broken(rows):
        for row in rows:
            if row == 55:
                raise ValueError("bad row 55")

    chunks = ([i] for i in range(100_000))
    with pytest.raises(ValueError, match="bad row 55"):
        fan_out(chunks, [broken, lambda rows: sum(1 for _ in rows)])


def test_fan_out_survives_a_consumer_that_stops_early():
    def first_only(rows):
        return next(iter(rows))

    results = fan_out(([i] for i in range(1000)), [first_only, lambda rows: sum(rows)])
    assert results == [0, sum(range(1000))]
