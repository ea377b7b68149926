"""Feed writers: registry, shared formatting, formula-injection protection; also the sample rows the other
test_feeds_* modules import (make_item, make_ctx, write_feed)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from shopsync.catalog.feeds import PROFILES, SORT_KEYS, WriteStats, feed_file_name, get_writer
from shopsync.catalog.feeds.base import (
    TextEncoder,
    discount_percent,
    format_money,
    format_quantity,
    format_quantity_comma,
)
from shopsync.catalog.feeds.csv_safety import protect_text
from shopsync.catalog.model import (
    CatalogItem,
    Category,
    Characteristic,
    FeedContext,
    WarehouseStock,
    WholesaleTier,
)
from shopsync.core.config import FEED_PROFILES, FeedSettings

# --- sample rows (imported by the other feed tests) ----------------------------------------------------------

CATEGORIES = {
    1: Category(id=1, parent_id=None, name="Взуття", name_ua="Взуття", path=("Взуття",), external_id="4634825"),
    2: Category(id=2, parent_id=1, name="Балетки", name_ua="Балетки", path=("Взуття", "Балетки")),
    10: Category(id=10, parent_id=1, name="Туфлі", name_ua="Туфлі", path=("Взуття", "Туфлі"), external_id="77"),
}


def make_ctx(**overrides: Any) -> FeedContext:
    values: dict[str, Any] = dict(
        shop_id="demo", shop_name="Демо & Ко", company="ТОВ «Демо»", url="https://shop.example",
        currency="UAH", generated_at=datetime(2025, 3, 4, 5, 6, 7), categories=CATEGORIES,
    )
    values.update(overrides)
    return FeedContext(**values)


def make_item(good_id: int = 1, **overrides: Any) -> CatalogItem:
    values: dict[str, Any] = dict(
        good_id=good_id, name=f"Туфлі жіночі {good_id}", price=Decimal("1958.36"), free_stock=3,
        category_id=2, article=f"ART-{good_id}", barcode="4820000000017", brand="Ліра", country="Україна",
        description="<p>Шкіряні туфлі</p>", pictures=[f"https://shop.example/photos/{good_id}_1.jpg"],
        photo_names=[f"{good_id}_1.jpg"],
        characteristics=[Characteristic("Колір", "чорний", None, "kolir"),
                         Characteristic("Висота підборів", "7", "см", "visota_kabluka")],
    )
    values.update(overrides)
    return CatalogItem(**values)


def full_item() -> CatalogItem:
    """An item with every field set."""
    return make_item(
        7, name="Туфлі Ліра чорні 38", price=Decimal("1958.355"), old_price=Decimal("2448"),
        wholesale_price=Decimal("1500"), free_stock=5,
        warehouses=[WarehouseStock(38, Decimal(1)), WarehouseStock(3, Decimal("2.5"))],
        name_ua="Туфлі Ліра", short_name="Туфлі", description_ua="<p>Опис</p>", collection="Весна-2025",
        model_group_id=70, size="38", color="чорний", season="весна", sex=1, min_order_qty=Decimal(2),
        prime_cost=Decimal("1000.1"), supplier_code="SUP-1",
        characteristics=[Characteristic("Колір", "чорний", None, "kolir"),
                         Characteristic("Висота", "10", "см", "visota"),
                         Characteristic("Ширина", "8", "см", "shirina"),
                         Characteristic("Матеріал верху", "шкіра", None, "material_verha"),
                         Characteristic("Матеріал підкладки", "текстиль", None, "material_pidkladky")],
        wholesale_tiers=[WholesaleTier(Decimal(5), Decimal("1800")), WholesaleTier(Decimal(20), Decimal("1700.5"))],
        pictures=["https://shop.example/photos/7_1.jpg", "https://shop.example/photos/7_2.jpg"],
        photo_names=["7_1.jpg", "7_2.jpg"],
    )


def write_feed(profile: str, rows: Iterable[Any], ctx: FeedContext | None = None,
               **settings: Any) -> tuple[bytes, WriteStats]:
    out = io.BytesIO()
    stats = get_writer(profile).write(rows, out, ctx or make_ctx(), FeedSettings(profile=profile, **settings))
    return out.getvalue(), stats


# --- registry ------------------------------------------------------------------------------------------------

def test_every_configurable_profile_has_a_writer() -> None:
    assert set(PROFILES) == set(FEED_PROFILES)
    for profile in PROFILES:
        writer = get_writer(profile)
        assert writer.profile == profile
        assert writer.shape.rows in ("catalog", "customers", "certificates")
        assert writer.shape.order in SORT_KEYS or writer.shape.rows != "catalog"


def test_default_file_names_and_row_kinds() -> None:
    expected = {
        "torgsoft_csv": ("TSGoods.trs", "catalog"), "rozetka_yml": ("rozetka.xml", "catalog"),
        "prom_yml": ("prom.xml", "catalog"), "yml": ("yml.xml", "catalog"),
        "woocommerce_csv": ("woocommerce.csv", "catalog"), "customers_csv": ("customers.csv", "customers"),
        "wholesale_prices_csv": ("wholesale_prices.csv", "catalog"),
        "gift_certificates_csv": ("gift_certificates.csv", "certificates"),
    }
    assert {p: (get_writer(p).default_file, get_writer(p).shape.rows) for p in PROFILES} == expected


def test_only_woocommerce_needs_model_group_order() -> None:
    assert {p for p in PROFILES if get_writer(p).shape.order == "model_group"} == {"woocommerce_csv"}


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown feed profile 'csv'.*torgsoft_csv.*gift_certificates_csv"):
        get_writer("csv")


def test_feed_file_name_prefers_the_settings() -> None:
    assert feed_file_name(FeedSettings(profile="torgsoft_csv")) == "TSGoods.trs"
    assert feed_file_name(FeedSettings(profile="torgsoft_csv", file="goods.csv")) == "goods.csv"


def test_model_group_sort_key_puts_items_without_group_first_then_groups_together() -> None:
    items = [make_item(1, model_group_id=9), make_item(2), make_item(3, model_group_id=4),
             make_item(4, model_group_id=9), make_item(5)]
    assert [i.good_id for i in sorted(items, key=SORT_KEYS["model_group"])] == [2, 5, 3, 1, 4]


# --- formatting ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1958.36"), "1958.36"), (Decimal("1958.355"), "1958.36"), (Decimal("1958.345"), "1958.35"),
    (Decimal(100), "100.00"), (Decimal("1E+3"), "1000.00"), (Decimal("-5"), "-5.00"), (Decimal("0.004"), "0.00"),
])
def test_money_has_two_decimals_rounded_half_up(value: Decimal, text: str) -> None:
    assert format_money(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal(5), "5"), (Decimal("5.000"), "5"), (Decimal("2.50"), "2.5"), (Decimal("1E+2"), "100"),
    (Decimal("0.125"), "0.125"),
])
def test_quantity_is_a_plain_number(value: Decimal, text: str) -> None:
    assert format_quantity(value) == text


def test_partner_quantity_has_three_decimals_and_a_comma() -> None:
    assert format_quantity_comma(Decimal(1)) == "1,000"
    assert format_quantity_comma(Decimal("2.5")) == "2,500"


@pytest.mark.parametrize(("price", "old", "percent"), [
    (Decimal(80), Decimal(100), 20), (Decimal("1958.36"), Decimal("2448"), 20), (Decimal(100), Decimal(100), 0),
    (Decimal(120), Decimal(100), 0), (Decimal(100), None, 0), (None, Decimal(100), 0), (Decimal(67), Decimal(200), 67),
    (Decimal("66.5"), Decimal(100), 34),
])
def test_discount_percent(price: Decimal | None, old: Decimal | None, percent: int) -> None:
    assert discount_percent(price, old) == percent


def test_cp1251_encoder_replaces_and_counts_what_it_cannot_hold() -> None:
    encoder = TextEncoder("cp1251")
    assert encoder.encode("Ґудзик ї є 👟🎁").decode("cp1251") == "Ґудзик ї є ??"
    assert encoder.replaced == 2
    assert encoder.bom == b""


def test_utf8_sig_encoder_has_the_bom_separately() -> None:
    encoder = TextEncoder("utf-8-sig")
    assert encoder.bom == b"\xef\xbb\xbf"
    assert encoder.encode("Ї") == "Ї".encode()


# --- formula injection ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "safe"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+380501234567", "'+380501234567"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Іваненко Іван", "Іваненко Іван"), ("a=b", "a=b"), ("", ""), (None, ""), ("'quoted", "'quoted"),
])
def test_protect_text(text: str | None, safe: str) -> None:
    assert protect_text(text) == safe

