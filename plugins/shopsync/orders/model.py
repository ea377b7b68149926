"""The internal order every format parser produces (parsers take bytes and return these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

PaymentStatus = Literal["paid", "unpaid", "cod"]


@dataclass(slots=True)
class OrderCustomer:
    full_name: str = ""
    phones: list[str] = field(default_factory=list)   # as typed; normalised when applied
    email: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    zip: str | None = None
    address: str | None = None
    np_branch: str | None = None


@dataclass(slots=True)
class OrderLine:
    good_ref: str                      # the shop's id for the good, as sent (GoodID, offer id, SKU)
    good_id: int | None                # our goods.id when good_ref names one by number, else None
    quantity: Decimal | None           # None when not a number
    price: Decimal | None              # unit price as ordered
    name: str | None = None
    article: str | None = None         # SKU / article, used when good_id is unknown
    problems: list[str] = field(default_factory=list)  # flags the order; nothing is reserved for it


@dataclass(slots=True)
class Order:
    external_number: str
    source_format: str
    customer: OrderCustomer
    lines: list[OrderLine]
    order_date: datetime | None = None
    payment_status: PaymentStatus = "unpaid"
    payment_method: str | None = None
    delivery_method: str | None = None
    delivery_city: str | None = None
    delivery_branch: str | None = None
    delivery_address: str | None = None
    comment: str | None = None
    currency: str = "UAH"
    bonus_pay: Decimal = Decimal(0)
    gift_certificates: list[str] = field(default_factory=list)
    reserve_until: date | None = None
    tracking_number: str | None = None  # the carrier's waybill (TTN) when the shop already created one
    # the carrier's own id of the chosen branch (Prom's recipient_warehouse_id, a Nova Poshta Ref): kept on the
    # invoice by the channel pull, not part of the order's content (an order seen again with it is the same order)
    delivery_branch_ref: str | None = None
    warnings: list[str] = field(default_factory=list)   # flag the order but it still lands


@dataclass(slots=True)
class RejectedOrder:
    """An order in a file that cannot be applied at all (in words a shop manager understands)."""
    position: int                      # 1-based position in the file
    external_number: str | None
    reasons: list[str]


@dataclass(slots=True)
class ParsedFile:
    format: str
    orders: list[Order]
    rejected: list[RejectedOrder]


class UnreadableFile(Exception):
    """The whole file is unusable (not text, truncated, unknown format): it goes to quarantine with this reason."""


class CutOffFile(UnreadableFile):
    """The file ends too early (or is empty): perhaps its upload was not finished. Quarantined like any
    unreadable file, but taken again when the quarantined copy changes (the uploader kept writing)."""
