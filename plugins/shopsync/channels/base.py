"""What every channel adapter offers the pipelines, whatever the marketplace: orders changed since a time,
their states told back, and (channels with a products API) the stock and price of each good."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

KYIV = ZoneInfo("Europe/Kyiv")       # Prom's and Rozetka's times without an offset


@dataclass(frozen=True)
class ChannelOrder:
    """One order as a channel lists it: its id, status and change time, and the whole JSON for the parser."""

    external_id: str
    status: str
    modified_at: datetime | None
    cancelled: bool                         # the channel says it is cancelled (by the buyer or the channel)
    raw: dict[str, Any] = field(repr=False)


class OrderSource(Protocol):
    kind: str                               # "prom" | "rozetka" | "woocommerce": also the order parser's format

    def changed_orders(self, since: datetime) -> Iterator[ChannelOrder]:
        """Every order created or changed at or after `since` (each may come more than once)."""


@dataclass(frozen=True)
class OrderState:
    """What a channel should show for one of its orders: its status there and, once shipped, the waybill."""

    status: str | int                       # in the channel's own terms (the shop's status map decided)
    waybill: str | None = None
    carrier: str | None = None              # nova_poshta | ukrposhta | meest, when known
    cancel_reason: str | None = None        # our words; each channel maps them to its reasons

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "waybill": self.waybill, "carrier": self.carrier,
                "cancel_reason": self.cancel_reason}


class StatusSink(Protocol):
    kind: str

    def push_order_state(self, external_id: str, state: OrderState) -> None:
        """Make the channel show `state` for this order (RemoteRejected when it refuses)."""

    def shows_order_state(self, external_id: str, state: OrderState) -> bool:
        """Whether the channel already shows `state` (a push whose acknowledgement was lost)."""


@dataclass(frozen=True)
class GoodState:
    """What a channel should show for one good: absolute values, so sending it twice changes nothing."""

    good_id: int
    quantity: int                           # whole units of free stock over the shop's warehouses, >= 0
    price: Decimal | None                   # the retail price the feeds publish (None: none to send)
    old_price: Decimal | None               # the price before a promotion, only when above `price`
    presence: str                           # "available" | "not_available"

    @property
    def available(self) -> bool:
        return self.presence == "available"

    def as_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "price": _text(self.price), "old_price": _text(self.old_price),
                "presence": self.presence}


class StockSink(Protocol):
    """A channel with a products API (Prom, WooCommerce; Rozetka has none in the reference)."""

    kind: str

    def product_ids(self, good_ids: Sequence[int]) -> dict[int, str]:
        """Each good's record in the channel (its external id there); a good left out has none."""

    def push_good_states(self, items: Sequence[tuple[str, GoodState]]) -> tuple[list[str], dict[str, str]]:
        """Make each record show its state: (external ids processed, {external id: why the channel refused})."""


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def carrier_code(carrier: str | None) -> str | None:
    """Our delivery note's carrier, as marketplaces name carriers."""
    text = (carrier or "").casefold()
    for code, words in (("nova_poshta", ("nova", "нова", "novaposhta")), ("ukrposhta", ("ukrposhta", "укрпошта")),
                        ("meest", ("meest", "міст"))):
        if any(word in text for word in words):
            return code
    return None


def channel_time(text: Any, zone_when_none: tzinfo) -> datetime | None:
    """A time a channel wrote (ISO 8601 or "YYYY-MM-DD HH:MM:SS"; "Z" for UTC); one without an offset is in
    `zone_when_none` (Kyiv for Prom and Rozetka, UTC for WooCommerce's *_gmt fields). None when unreadable."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone_when_none)
