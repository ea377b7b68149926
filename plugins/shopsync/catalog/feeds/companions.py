"""Companion CSV files that people open in a spreadsheet: customers, wholesale prices, gift certificates.

Format: ',' delimiter, quotes only where needed, CRLF, a header row unless `settings.header` is false.
Encoding: UTF-8 with BOM (Excel then opens Cyrillic correctly); `encoding: cp1251` in the settings is
honoured for old spreadsheet setups, and plain `utf-8` is written with the BOM too (FeedSettings cannot
tell an explicit "utf-8" from its default, and without the BOM Excel shows mojibake).

Every text cell goes through `csv_safety.protect_text` (formula injection); numbers are written as plain
numbers ('.' decimal separator, money with 2 decimals) and never prefixed, so -5.00 stays a number. Phones are
text (E.164 '+380...' gets the apostrophe: see csv_safety).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, ClassVar

from shopsync.catalog.feeds.base import (
    CountingStream,
    EncodedTextSink,
    FeedWriter,
    TextEncoder,
    WriteStats,
    format_money,
    format_quantity,
)
from shopsync.catalog.feeds.csv_safety import protect_text
from shopsync.catalog.feeds.shape import CERTIFICATES, CUSTOMERS, GOODS_BY_ID, Shape
from shopsync.catalog.model import CatalogItem, CertificateRow, CustomerRow, FeedContext
from shopsync.core.config import FeedSettings


def companion_encoding(settings: FeedSettings) -> str:
    return "cp1251" if settings.encoding == "cp1251" else "utf-8-sig"


class _CompanionCsvWriter(FeedWriter):
    """Writes `columns` as the header and `rows_for(row)` for every input row."""

    columns: ClassVar[tuple[str, ...]]

    def write(self, rows: Iterable[Any], out: BinaryIO, ctx: FeedContext, settings: FeedSettings) -> WriteStats:
        encoder = TextEncoder(companion_encoding(settings))
        stream = CountingStream(out)
        stream.write(encoder.bom)
        writer = csv.writer(EncodedTextSink(stream, encoder), lineterminator="\r\n")
        if settings.header:
            writer.writerow(self.columns)
        written = skipped = 0
        for row in rows:
            if not self.included(row):
                skipped += 1
                continue
            for cells in self.rows_for(row, ctx):
                writer.writerow(cells)
                written += 1
        return WriteStats(rows=written, bytes=stream.count, skipped=skipped, replaced_chars=encoder.replaced,
                          replaced_examples=tuple(encoder.examples))

    def included(self, row: Any) -> bool:
        return True

    def rows_for(self, row: Any, ctx: FeedContext) -> Iterator[list[str]]:
        raise NotImplementedError


class CustomersCsvWriter(_CompanionCsvWriter):
    profile: ClassVar[str] = "customers_csv"
    shape: ClassVar[Shape] = CUSTOMERS
    columns: ClassVar[tuple[str, ...]] = (
        "customer_id", "full_name", "phone", "email", "city", "region", "np_branch", "address",
        "discount_card", "discount_percent", "bonus_balance",
    )

    def rows_for(self, row: CustomerRow, ctx: FeedContext) -> Iterator[list[str]]:
        yield [
            str(row.customer_id), protect_text(row.full_name), protect_text(row.phone), protect_text(row.email),
            protect_text(row.city), protect_text(row.region), protect_text(row.np_branch), protect_text(row.address),
            protect_text(row.discount_card), format_quantity(row.discount_percent), format_money(row.bonus_balance),
        ]


class WholesalePricesCsvWriter(_CompanionCsvWriter):
    """One row per wholesale tier of every visible item (invisible items are counted in stats.skipped)."""

    profile: ClassVar[str] = "wholesale_prices_csv"
    shape: ClassVar[Shape] = GOODS_BY_ID
    columns: ClassVar[tuple[str, ...]] = ("good_id", "article", "min_quantity", "price", "currency")

    def included(self, row: CatalogItem) -> bool:
        return row.visible

    def rows_for(self, row: CatalogItem, ctx: FeedContext) -> Iterator[list[str]]:
        for tier in row.wholesale_tiers:
            yield [str(row.good_id), protect_text(row.article), format_quantity(tier.min_qty),
                   format_money(tier.price), protect_text(ctx.currency)]


class GiftCertificatesCsvWriter(_CompanionCsvWriter):
    profile: ClassVar[str] = "gift_certificates_csv"
    shape: ClassVar[Shape] = CERTIFICATES
    columns: ClassVar[tuple[str, ...]] = ("barcode", "nominal", "currency", "status", "valid_until")

    def rows_for(self, row: CertificateRow, ctx: FeedContext) -> Iterator[list[str]]:
        valid_until = row.valid_until.isoformat() if row.valid_until else ""
        yield [protect_text(row.barcode), format_money(row.nominal), protect_text(row.currency),
               protect_text(row.status), valid_until]

