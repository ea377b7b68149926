"""Companion CSVs (customers, wholesale prices, gift certificates): Excel-friendly and formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from test_feeds_base import full_item, make_item, write_feed

from shopsync.catalog.model import CertificateRow, CustomerRow
from shopsync.catalog.model import WholesaleTier as Tier

BOM = b"\xef\xbb\xbf"


def parse(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def customer(customer_id: int = 1, **overrides: object) -> CustomerRow:
    values: dict[str, object] = dict(
        customer_id=customer_id, full_name="Іваненко Іван", phone="+380501234567", email="ivan@example.com",
        city="Київ", region="Київська", np_branch="Відділення №5", address="вул. Хрещатик, 1",
        discount_card="000123", discount_percent=Decimal(5), bonus_balance=Decimal("12.5"),
    )
    values.update(overrides)
    return CustomerRow(**values)


def test_customers_file() -> None:
    data, stats = write_feed("customers_csv", [customer(1), customer(2, phone=None, email=None)])
    assert data.startswith(BOM + b"customer_id,full_name,phone,")
    assert data.count(BOM) == 1
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == 3
    header, first, second = parse(data)
    assert header == ["customer_id", "full_name", "phone", "email", "city", "region", "np_branch", "address",
                      "discount_card", "discount_percent", "bonus_balance"]
    assert first == ["1", "Іваненко Іван", "'+380501234567", "ivan@example.com", "Київ", "Київська",
                     "Відділення №5", "вул. Хрещатик, 1", "000123", "5", "12.50"]
    assert second[2:4] == ["", ""]
    assert (stats.rows, stats.bytes) == (2, len(data))


def test_formula_like_text_is_neutralised_and_numbers_are_not() -> None:
    row = customer(1, full_name='=HYPERLINK("http://evil","click")', address="@SUM(1)", city="-Київ",
                   region="\tx", bonus_balance=Decimal("-5"), discount_percent=Decimal("2.5"))
    _, values = parse(write_feed("customers_csv", [row])[0])
    assert values[1] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert (values[4], values[5], values[7]) == ("'-Київ", "'\tx", "'@SUM(1)")
    assert (values[9], values[10]) == ("2.5", "-5.00")


def test_numbers_are_not_quoted() -> None:
    data, _ = write_feed("customers_csv", [customer(1, bonus_balance=Decimal("-5"))])
    assert data.decode("utf-8-sig").split("\r\n")[1].endswith(",000123,5,-5.00")


def test_cp1251_is_honoured_and_utf8_gets_the_bom() -> None:
    data, _ = write_feed("customers_csv", [customer()], encoding="cp1251")
    assert not data.startswith(BOM)
    assert parse(data, "cp1251")[1][1] == "Іваненко Іван"
    assert write_feed("customers_csv", [customer()], encoding="utf-8")[0].startswith(BOM)


def test_header_can_be_left_out() -> None:
    data, _ = write_feed("customers_csv", [customer()], header=False)
    assert data.startswith(BOM + b"1,")


def test_wholesale_prices_one_row_per_tier_of_visible_items() -> None:
    rows = [full_item(), make_item(8), make_item(9, visible=False, wholesale_tiers=[Tier(Decimal(2), Decimal(1))]),
            make_item(10, article="=cmd", wholesale_tiers=[Tier(Decimal("2.5"), Decimal("99.999"))])]
    data, stats = write_feed("wholesale_prices_csv", rows)
    assert parse(data) == [
        ["good_id", "article", "min_quantity", "price", "currency"],
        ["7", "ART-7", "5", "1800.00", "UAH"],
        ["7", "ART-7", "20", "1700.50", "UAH"],
        ["10", "'=cmd", "2.5", "100.00", "UAH"],
    ]
    assert (stats.rows, stats.skipped) == (3, 1)


def test_gift_certificates() -> None:
    rows = [CertificateRow("2900000000017", Decimal(500), "UAH", "active", date(2026, 1, 31)),
            CertificateRow("+29000", Decimal("250.5"), "UAH", "used", None)]
    data, stats = write_feed("gift_certificates_csv", rows)
    assert parse(data) == [
        ["barcode", "nominal", "currency", "status", "valid_until"],
        ["2900000000017", "500.00", "UAH", "active", "2026-01-31"],
        ["'+29000", "250.50", "UAH", "used", ""],
    ]
    assert stats.rows == 2


def test_companions_are_deterministic() -> None:
    rows = [customer(1), customer(2)]
    assert write_feed("customers_csv", rows)[0] == write_feed("customers_csv", iter(rows))[0]
