"""What every feed writer shares: the writer protocol, its statistics, number formatting, output counting.

A writer takes rows (already sorted by the caller, see `SORT_KEYS`) and a binary stream, and writes one
feed file. Same rows + same FeedContext -> byte-identical output: writers read no clock and sort nothing
themselves except the (small) category list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, BinaryIO, ClassVar, Literal, Protocol

from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.config import FeedSettings

RowKind = Literal["catalog", "customers", "certificates"]
SortKey = Literal["good_id", "model_group"]

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class WriteStats:
    rows: int                # data rows / offers written (header not counted)
    bytes: int               # bytes written to the stream, BOM included
    skipped: int = 0         # input rows deliberately not written (e.g. invisible items in YML feeds)
    replaced_chars: int = 0  # characters the file encoding cannot hold, written as '?' (cp1251)
    truncated: int = 0       # values cut to a format limit (GoodName 500, Description 255, Woo attributes)


class FeedWriter(Protocol):
    profile: ClassVar[str]
    default_file: ClassVar[str]
    kind: ClassVar[RowKind]
    # How the caller must order the rows: "good_id" (ascending good_id) or "model_group" (see SORT_KEYS).
    sort_key: ClassVar[SortKey]

    def write(self, rows: Iterable[Any], out: BinaryIO, ctx: FeedContext, settings: FeedSettings) -> WriteStats:
        ...


def _model_group_order(item: CatalogItem) -> tuple[bool, int, int]:
    # Items without a model group first, then each group's items together, each part by good_id.
    return (item.model_group_id is not None, item.model_group_id or 0, item.good_id)


SORT_KEYS: dict[SortKey, Callable[[CatalogItem], Any]] = {
    "good_id": lambda item: item.good_id,
    "model_group": _model_group_order,   # SQL: ORDER BY model_group_id NULLS FIRST, good_id
}


class CountingStream:
    """Passes bytes through to `raw` and counts them (lxml's xmlfile only needs `write`)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        self._raw.write(data)
        return len(data)


class TextEncoder:
    """Encodes text for one of the settings' encodings; 'utf-8-sig' means a BOM once, at the start of the file.

    Characters the encoding cannot hold (emoji in cp1251) become '?' and are counted, never a crash.
    """

    def __init__(self, encoding: str) -> None:
        self.bom = UTF8_BOM if encoding == "utf-8-sig" else b""
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.replaced = 0

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError:
            self.replaced += sum(1 for char in text if not _encodable(char, self.codec))
            return text.encode(self.codec, errors="replace")


class EncodedTextSink:
    """The text file `csv.writer` needs: each string it writes goes to the stream encoded."""

    def __init__(self, stream: CountingStream, encoder: TextEncoder) -> None:
        self._stream = stream
        self._encoder = encoder

    def write(self, text: str) -> None:
        self._stream.write(self._encoder.encode(text))


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def format_money(value: Decimal) -> str:
    """1958.355 -> '1958.36': two decimals, '.' separator, half-up (how shops and people round money)."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def format_quantity(value: Decimal) -> str:
    """Decimal(5) -> '5', Decimal('2.50') -> '2.5': a plain number without exponent or trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def format_quantity_comma(value: Decimal) -> str:
    """Decimal(1) -> '1,000': three decimals with a decimal comma (Torgsoft's WarehouseQuantityForPartner)."""
    return str(value.quantize(MILLI, rounding=ROUND_HALF_UP)).replace(".", ",")


def discount_percent(price: Decimal | None, old_price: Decimal | None) -> int:
    """Whole percent the promo takes off the old price; 0 when there is no promo (old price not above price)."""
    if price is None or old_price is None or old_price <= price or old_price <= 0:
        return 0
    percent = (old_price - price) / old_price * 100
    return int(percent.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def has_promo(item: CatalogItem) -> bool:
    """The old price is shown only when it is above the current price."""
    return item.price is not None and item.old_price is not None and item.old_price > item.price


def truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:limit], True
