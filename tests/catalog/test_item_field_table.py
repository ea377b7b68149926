"""CatalogItem and FEED_SCHEMA are tied by one field table: every field has its column, and goods go both
ways without loss."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from shopsync.catalog import columns
from shopsync.catalog.columns import FEED_SCHEMA, batch_from_items, items_from_batch
from shopsync.catalog.model import CatalogItem, Characteristic, WarehouseStock, WholesaleTier


def test_every_item_field_is_a_feed_column_and_every_column_but_the_photo_records_a_field() -> None:
    names = {columns.COLUMN_OF.get(field.name, field.name) for field in fields(CatalogItem)}
    assert names == set(FEED_SCHEMA.names) - set(columns.SNAPSHOT_ONLY_COLUMNS)


def test_items_go_to_a_batch_and_back_unchanged() -> None:
    items = [
        CatalogItem(good_id=1, name="Туфлі", price=Decimal("5399.00"), old_price=Decimal("6000.00"),
                    wholesale_price=Decimal("4000.00"), free_stock=3, category_id=7, sex=2, model_group_id=9,
                    warehouses=[WarehouseStock(1, Decimal("2.500"))], prime_cost=Decimal("100.00"),
                    characteristics=[Characteristic("Колір", "чорний", None, "kolir")],
                    wholesale_tiers=[WholesaleTier(Decimal("5.000"), Decimal("4500.00"))],
                    pictures=["https://x/detail/a.jpg"], photo_names=["a.jpg"], min_order_qty=Decimal("1.000")),
        CatalogItem(good_id=2, name="Без ціни", price=None, visible=False, min_order_qty=Decimal("2.000")),
    ]
    assert list(items_from_batch(batch_from_items(items))) == items

