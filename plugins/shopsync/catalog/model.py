"""What feed writers consume: plain rows built from the shop's snapshot, never database rows.

A feed writer takes an iterable of these and a binary stream; it knows nothing
about PostgreSQL, Parquet or Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLI = Decimal("0.001")


def cents(money: Decimal) -> Decimal:
    """Money to whole cents, half up (how shops and people round money; the snapshot's decimal(14, 2))."""
    return money.quantize(CENT, rounding=ROUND_HALF_UP)


def thousandths(quantity: Decimal) -> Decimal:
    """A quantity to thousandths, half up (the snapshot's decimal(14, 3))."""
    return quantity.quantize(MILLI, rounding=ROUND_HALF_UP)


@dataclass(slots=True, frozen=True)
class Characteristic:
    name: str            # "Колір", "Висота підборів"
    value: str           # "чорний", "7"
    unit: str | None     # "см", None
    slug: str            # "kolir", "visota_kabluka": stable machine name of the kind


@dataclass(slots=True, frozen=True)
class WarehouseStock:
    warehouse_id: int
    free: Decimal        # on hand minus active reservations at that warehouse


@dataclass(slots=True, frozen=True)
class WholesaleTier:
    min_qty: Decimal     # from this many units in the basket ...
    price: Decimal       # ... each unit costs this


@dataclass(slots=True)
class CatalogItem:
    good_id: int                       # stable offer id / GoodID
    name: str
    price: Decimal | None              # retail price in the shop currency (None: no price)
    old_price: Decimal | None = None   # price before the promo (must be above price to be shown)
    wholesale_price: Decimal | None = None
    free_stock: int = 0                # free stock over the shop's warehouses, whole units, >= 0
    warehouses: list[WarehouseStock] = field(default_factory=list)
    category_id: int | None = None
    article: str | None = None
    barcode: str | None = None
    name_ua: str | None = None
    short_name: str | None = None
    description: str | None = None
    description_ua: str | None = None
    brand: str | None = None
    country: str | None = None
    collection: str | None = None
    model_group_id: int | None = None
    model_group_name: str | None = None  # the model's own name in the database (WooCommerce parent)
    size: str | None = None
    color: str | None = None
    season: str | None = None
    sex: int | None = None
    unit: str = "шт"
    min_order_qty: Decimal = Decimal(1)
    prime_cost: Decimal | None = None
    supplier_code: str | None = None
    visible: bool = True               # active and visible in the accounting database
    characteristics: list[Characteristic] = field(default_factory=list)
    wholesale_tiers: list[WholesaleTier] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)     # absolute URLs of published photos (detail size)
    photo_names: list[str] = field(default_factory=list)  # published photo file names (GoodPhotoList)


@dataclass(slots=True, frozen=True)
class Category:
    id: int
    parent_id: int | None
    name: str
    name_ua: str | None
    path: tuple[str, ...]              # names from the root to this category
    external_id: str | None = None     # the marketplace's id for it, where the shop maps categories


@dataclass(slots=True, frozen=True)
class CustomerRow:
    customer_id: int
    full_name: str
    phone: str | None                  # E.164 (first phone)
    email: str | None
    city: str | None
    region: str | None
    np_branch: str | None
    address: str | None
    discount_card: str | None
    discount_percent: Decimal
    bonus_balance: Decimal


@dataclass(slots=True, frozen=True)
class CertificateRow:
    barcode: str
    nominal: Decimal
    currency: str
    status: str                        # active, used, blocked, expired
    valid_until: date | None


@dataclass(slots=True, frozen=True)
class FeedContext:
    """What a writer needs besides the rows."""
    shop_id: str
    shop_name: str
    company: str
    url: str                           # the shop's site
    currency: str
    generated_at: datetime             # the end of the run's data interval: deterministic output
    categories: dict[int, Category]
