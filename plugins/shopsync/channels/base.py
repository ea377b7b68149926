"""What every channel adapter offers the pipelines, whatever the marketplace: orders changed since a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


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
