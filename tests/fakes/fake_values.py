"""Values the fake channel servers share: Kyiv time, the times the channels accept, decimal strings, paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

KYIV = timezone(timedelta(hours=2), "EET")   # the shops' zone in December; fakes stamp local times with it


def parse_time(text: str, default_zone: timezone = KYIV) -> datetime | None:
    """ISO 8601 or "YYYY-MM-DD HH:MM:SS" (offset optional: local Kyiv time then); None if unreadable."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=default_zone)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def as_time(value: datetime | str | None) -> datetime | None:
    """A builder's time argument: a datetime, a string `parse_time` reads, or None (the caller uses now)."""
    return parse_time(value) if isinstance(value, str) else value


def decimal_string(amount: Decimal) -> str:
    """Money as Rozetka and WooCommerce send it: "1202.00"."""
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Pages:
    """One page of a list, 1-based, with the totals the channels report."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    page_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.page_count = max(1, -(-self.total // self.per_page)) if self.total else 0


def paginate(items: list[Any], page: int, per_page: int) -> Pages:
    start = (page - 1) * per_page
    return Pages(items[start:start + per_page], len(items), page, per_page)
