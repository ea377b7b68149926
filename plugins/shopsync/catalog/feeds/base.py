"""What every feed writer shares: the writer protocol (FeedWriter and its declared Shape), its statistics,
number formatting, output counting.

A writer takes rows of its shape (already in the shape's order, see `SORT_KEYS`) and a binary stream, and
writes one feed file. Same rows + same FeedContext -> byte-identical output: writers read no clock and sort nothing
themselves except the (small) category list.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, BinaryIO, ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc

from shopsync.catalog.columns import batches_from_items
from shopsync.catalog.feeds.shape import GOODS_FRAGMENTS, Shape
from shopsync.catalog.model import CatalogItem, FeedContext, cents, thousandths
from shopsync.core.config import DEFAULT_FEED_FILES, FeedSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning

SortKey = Literal["good_id", "model_group"]

UTF8_BOM = b"\xef\xbb\xbf"
COPY_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class WriteStats:
    rows: int                # data rows / offers written (header not counted)
    bytes: int               # bytes written to the stream, BOM included
    skipped: int = 0         # input rows deliberately not written (e.g. invisible items in YML feeds)
    replaced_chars: int = 0  # characters the file encoding cannot hold, written as '?' (cp1251)
    truncated: int = 0       # values cut to a format limit (GoodName 500, Description 255, Woo attributes)
    replaced_examples: tuple[str, ...] = ()   # the first few of those characters, as 'U+1F600 😀'


class FeedWriter(ABC):
    """Writes one feed file from rows of its declared shape (already in the shape's order)."""
    profile: ClassVar[str]
    shape: ClassVar[Shape]

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning

    @property
    def default_file(self) -> str:
        return DEFAULT_FEED_FILES[self.profile]

    @abstractmethod
    def write(self, rows: Iterable[Any], out: BinaryIO, ctx: FeedContext, settings: FeedSettings) -> WriteStats:
        ...


def _model_group_order(item: CatalogItem) -> tuple[bool, int, int]:
    # Items without a model group first, then each group's items together, each part by good_id.
    return (item.model_group_id is not None, item.model_group_id or 0, item.good_id)


SORT_KEYS: dict[SortKey, Callable[[CatalogItem], Any]] = {
    "good_id": lambda item: item.good_id,
    "model_group": _model_group_order,   # SQL: ORDER BY model_group_id NULLS FIRST, good_id
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One feed batch rendered by a columnar writer: one text fragment per input row, in row order.

    A fragment is the row's complete text in the file (an <offer> element with its line ends, a CSV line);
    "" for a row the feed leaves out (counted in `skipped`). Concatenating a file's fragments between the
    writer's header and footer gives the file.
    """
    fragments: pa.StringArray
    skipped: int = 0
    truncated: int = 0


class FragmentWriter(FeedWriter):
    """A writer of shape GOODS_FRAGMENTS: header, one fragment per good of each feed batch, footer."""
    shape: ClassVar[Shape] = GOODS_FRAGMENTS
    items_per_batch: ClassVar[int] = 2000      # CatalogItems per feed batch in write()

    @abstractmethod
    def encoding(self, settings: FeedSettings) -> str: ...

    @abstractmethod
    def header(self, ctx: FeedContext, settings: FeedSettings) -> str: ...

    @abstractmethod
    def render(self, batch: pa.RecordBatch, ctx: FeedContext, settings: FeedSettings) -> Rendered: ...

    @abstractmethod
    def footer(self, ctx: FeedContext, settings: FeedSettings) -> str: ...

    def item_batch_rows(self) -> int:
        return self.items_per_batch

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        """CatalogItems (tests, callers with rows in hand) rendered as feed batches."""
        return write_batches(self, batches_from_items(rows, size=self.item_batch_rows()), out, ctx, settings)


class FeedFile:
    """A columnar feed being written: header on opening, fragments as they come, footer on close."""

    def __init__(self, writer: FragmentWriter, out: BinaryIO, ctx: FeedContext, settings: FeedSettings):
        self.writer, self.ctx, self.settings = writer, ctx, settings
        self.encoder = TextEncoder(writer.encoding(settings))
        self.stream = CountingStream(out)
        self.rows = self.skipped = self.truncated = 0
        self.stream.write(self.encoder.bom)
        self.stream.write(self.encoder.encode(writer.header(ctx, settings)))

    def add(self, batch: pa.RecordBatch) -> tuple[Rendered, bytes]:
        """Render a feed batch and write it; returns the fragments and the bytes written for them."""
        rendered = self.writer.render(batch, self.ctx, self.settings)
        self.truncated += rendered.truncated
        return rendered, self.add_fragments(rendered.fragments)

    def add_fragments(self, fragments: pa.StringArray) -> bytes:
        """Write rendered fragments ("" or null: a row the feed leaves out); returns the bytes written."""
        written = pc.sum(pc.not_equal(pc.fill_null(fragments, ""), "")).as_py() or 0
        self.count(rows=written, skipped=len(fragments) - written)
        return self.write_fragments(fragments)

    def write_fragments(self, fragments: pa.StringArray) -> bytes:
        """Write fragments without counting them as rows (the caller counts); returns the bytes written."""
        data = encode_fragments(fragments, self.encoder)
        self.stream.write(data)
        return data

    def copy_from(self, source: BinaryIO, offset: int, size: int) -> None:
        """Copy bytes of an earlier file of the same feed: rows rendered before, unchanged since."""
        self.stream.copy_from(source, offset, size)

    def count(self, rows: int, skipped: int) -> None:
        self.rows += rows
        self.skipped += skipped

    def close(self) -> WriteStats:
        self.stream.write(self.encoder.encode(self.writer.footer(self.ctx, self.settings)))
        return WriteStats(rows=self.rows, bytes=self.stream.count, skipped=self.skipped,
                          replaced_chars=self.encoder.replaced, truncated=self.truncated,
                          replaced_examples=tuple(self.encoder.examples))


def write_batches(writer: FragmentWriter, batches: Iterable[pa.RecordBatch], out: BinaryIO,
                  ctx: FeedContext, settings: FeedSettings) -> WriteStats:
    """Header, every batch's fragments, footer: encoded for the feed and counted."""
    feed = FeedFile(writer, out, ctx, settings)
    for batch in batches:
        feed.add(batch)
    return feed.close()


def encode_fragments(fragments: pa.StringArray, encoder: TextEncoder) -> bytes:
    """The fragments joined, in the feed's encoding (UTF-8: straight from Arrow's buffer, no Python string)."""
    if len(fragments) == 0:
        return b""
    if isinstance(fragments, pa.ChunkedArray):
        fragments = fragments.combine_chunks()
    joined = pc.binary_join(pa.ListArray.from_arrays([0, len(fragments)], pc.fill_null(fragments, "")), "")[0]
    if encoder.codec in ("utf-8", "utf8"):
        return joined.as_buffer().to_pybytes()
    return encoder.encode(joined.as_py())


class CountingStream:
    """Passes bytes through to `raw` and counts them (lxml's xmlfile only needs `write`)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        self._raw.write(data)
        return len(data)

    def copy_from(self, source: BinaryIO, offset: int, size: int) -> None:
        """Append `size` bytes of `source` from `offset`: in the kernel (copy_file_range) when both are files,
        else through memory."""
        fileno = getattr(self._raw, "fileno", None)
        if fileno is not None and hasattr(os, "copy_file_range"):
            self._raw.flush()
            target = fileno()
            while size > 0:
                copied = os.copy_file_range(source.fileno(), target, min(size, COPY_CHUNK * 16), offset)
                if copied == 0:
                    raise OSError(f"{getattr(source, 'name', 'the previous feed')} ends before offset {offset}")
                self.count += copied
                offset += copied
                size -= copied
            return
        while size > 0:
            chunk = os.pread(source.fileno(), min(COPY_CHUNK, size), offset)
            if not chunk:
                raise OSError(f"{getattr(source, 'name', 'the previous feed')} ends before offset {offset}")
            self.write(chunk)
            offset += len(chunk)
            size -= len(chunk)


# Characters a code page lacks that have a faithful one-character stand-in in it. The Ukrainian apostrophe
# is officially U+02BC (ʼ, "модифікатор"), which cp1251 lacks; cp1251 has the typographic apostrophe U+2019
# (’, byte 0x92), the one Ukrainian text typed on Windows uses: "м’ята", not "м?ята". One character for one,
# so the byte length of a text in the code page stays its character count (render/sink.fragment_lengths).
CODE_PAGE_STAND_INS = {
    "cp1251": str.maketrans({"\u02bc": "\u2019", "\u02bb": "\u2018"}),   # ʼ -> ’, ʻ -> ‘
}
MAX_REPLACED_EXAMPLES = 5


class TextEncoder:
    """Encodes text for one of the settings' encodings; 'utf-8-sig' means a BOM once, at the start of the file.

    In a code page, characters with a stand-in (CODE_PAGE_STAND_INS) are written as it; characters it cannot
    hold otherwise (emoji in cp1251) become '?' and are counted, with the first few kept as examples (the run
    summary lists them), never a crash.
    """

    def __init__(self, encoding: str) -> None:
        self.bom = UTF8_BOM if encoding == "utf-8-sig" else b""
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.stand_ins = CODE_PAGE_STAND_INS.get(self.codec)
        self.replaced = 0
        self.examples: list[str] = []

    def encode(self, text: str) -> bytes:
        if self.stand_ins is not None:
            text = text.translate(self.stand_ins)
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError:
            # Each character the code page holds is one byte and decodes back to itself: the rest were dropped.
            self.replaced += len(text) - len(text.encode(self.codec, errors="ignore").decode(self.codec))
            self._note_examples(text)
            return text.encode(self.codec, errors="replace")

    def _note_examples(self, text: str) -> None:
        if len(self.examples) >= MAX_REPLACED_EXAMPLES:
            return
        for character in dict.fromkeys(text):
            if len(self.examples) >= MAX_REPLACED_EXAMPLES:
                return
            example = f"U+{ord(character):04X} {character}"
            if example not in self.examples and not _encodable(character, self.codec):
                self.examples.append(example)


def _encodable(character: str, codec: str) -> bool:
    try:
        character.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


class EncodedTextSink:
    """The text file `csv.writer` needs: each string it writes goes to the stream encoded."""

    def __init__(self, stream: CountingStream, encoder: TextEncoder) -> None:
        self._stream = stream
        self._encoder = encoder

    def write(self, text: str) -> None:
        self._stream.write(self._encoder.encode(text))


def format_money(value: Decimal) -> str:
    """1958.355 -> '1958.36': two decimals, '.' separator, half-up (how shops and people round money)."""
    return str(cents(value))


def format_quantity(value: Decimal) -> str:
    """Decimal(5) -> '5', Decimal('2.50') -> '2.5': a plain number without exponent or trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def format_quantity_comma(value: Decimal) -> str:
    """Decimal(1) -> '1,000': three decimals with a decimal comma (Torgsoft's WarehouseQuantityForPartner)."""
    return str(thousandths(value)).replace(".", ",")


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


# --- vectorised formatting (columnar writers) ------------------------------------------------------------

def money_text(values: pa.Array) -> pa.Array:
    """A decimal column as format_money text: '5399.00', '-5.00', '0.00' (null stays null). The snapshot's
    money is decimal(14, 2) already: then this is a cast, no rounding."""
    if values.type.scale != 2:
        values = pc.cast(pc.round(values, 2, round_mode="half_up"),
                         pa.decimal128(min(38, values.type.precision - values.type.scale + 3), 2))
    return pc.cast(values, pa.string())


def quantity_text(values: pa.Array) -> pa.Array:
    """A decimal column as format_quantity text: 5.000 -> '5', 2.500 -> '2.5' (null stays null)."""
    text = pc.cast(values, pa.string())
    if values.type.scale > 0:   # every value has a '.': drop the trailing zeros, and the '.' when nothing is left
        text = pc.replace_substring_regex(text, r"\.?0+$", "")
    return text
