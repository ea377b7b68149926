"""Torgsoft-compatible order JSON (what sites built for Torgsoft send back), one object per order.

    {"Client":  {"Name", "MPhone", "CPhone", "ZIP", "Country", "Region", "Місто", "Address", "EMail"},
     "Options": {"SaleType", "Comment", "OrderNumber", "DeliveryCondition", "DeliveryAddress",
                 "ReserveDate" (DDMMYYYY), "BonusPay", "GiftCertificate" (barcodes, comma separated),
                 "OrderDate" ("YYYY-MM-DD HH:MM:SS"), "CurrencyInternationalCode",
                 ... our optional extras below},
     "Goods":   [{"GoodID", "Price", "Count"}, ...]}

Optional extras in Options (not in the original format; sites that know about them may send them):
    "PaymentStatus"   paid | unpaid | cod (also "оплачено", "післяплата"); default unpaid, or cod when
                      PaymentMethod reads like cash on delivery ("Післяплата", "Наложенный платеж")
    "PaymentMethod"   free text, e.g. "Оплата карткою"
    "DeliveryMethod"  free text, e.g. "Нова Пошта"; DeliveryCondition is used when it is absent
    "Branch"          the carrier's branch, e.g. "Відділення №12"; without it, a DeliveryAddress that reads
                      like a branch ("Відділення №12", "отделение 5", "№ 12", "Поштомат") is taken as the branch
Goods entries may also carry "GoodName" and "Articul" (kept for the manager's eyes).

Field names are matched exactly first, then loosely (case, '_' and Cyrillic/Latin look-alike letters), so
"Місто" typed with a Latin "i" matches; "City" is accepted as the city too. Values should be strings; JSON
numbers are accepted; an object or list where text is expected rejects the order. SaleType is not used.
CurrencyInternationalCode may be letters (UAH) or the ISO number (980).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shopsync.orders.formats.lines import make_line
from shopsync.orders.formats.reader import FieldReader, read_order_date
from shopsync.orders.formats.values import (
    currency_code,
    good_id_from_ref,
    is_cash_on_delivery,
    looks_like_branch,
    parse_date,
    shorten,
    show_decimal,
    unique_non_empty,
)
from shopsync.orders.model import Order, OrderCustomer, OrderLine, PaymentStatus

FORMAT = "torgsoft_json"

_PAYMENT_STATUS_WORDS: dict[str, PaymentStatus] = {
    "paid": "paid", "оплачено": "paid", "оплачений": "paid", "оплачен": "paid",
    "unpaid": "unpaid", "не оплачено": "unpaid", "неоплачено": "unpaid",
    "cod": "cod",
}


def parse_order(order: FieldReader, source_format: str = FORMAT) -> Order:
    client, options = order.child("Client"), order.child("Options")
    warnings: list[str] = []
    number = options.text("OrderNumber")
    if not number:
        order.problem("no order number")
    lines = _lines(order)
    branch, delivery_address = _branch_and_address(options)
    city = client.text("Місто", "City", "Город", "Misto")
    payment_method = options.text("PaymentMethod")
    return Order(
        external_number=number or "",
        source_format=source_format,
        customer=OrderCustomer(
            full_name=client.text("Name") or "",
            phones=unique_non_empty(client.text("MPhone"), client.text("CPhone")),
            email=client.text("EMail", "Email"),
            country=client.text("Country"),
            region=client.text("Region"),
            city=city,
            zip=client.text("ZIP"),
            address=client.text("Address"),
            np_branch=branch,
        ),
        lines=lines,
        order_date=read_order_date(options, "OrderDate", warnings, "YYYY-MM-DD HH:MM:SS"),
        payment_status=_payment_status(options.text("PaymentStatus"), payment_method, warnings),
        payment_method=payment_method,
        delivery_method=options.text("DeliveryMethod") or options.text("DeliveryCondition"),
        delivery_city=city,
        delivery_branch=branch,
        delivery_address=delivery_address,
        comment=options.text("Comment"),
        currency=_currency(options, warnings),
        bonus_pay=_bonus_pay(options, warnings),
        gift_certificates=_gift_certificates(options.text("GiftCertificate")),
        reserve_until=_reserve_date(options, warnings),
        warnings=warnings,
    )


def _lines(order: FieldReader) -> list[OrderLine]:
    lines = [_line(good) for good in order.entries("Goods", "goods") or []]
    order.require_goods(lines, "Goods")
    return lines


def _line(good: FieldReader) -> OrderLine:
    good_ref = good.text("GoodID")
    return make_line(
        good_ref=good_ref,
        good_id=good_id_from_ref(good_ref),
        quantity=good.number("Count"),
        price=good.number("Price"),
        name=good.text("GoodName"),
        article=good.text("Articul"),
        missing_ref="GoodID is missing",
    )


def _branch_and_address(options: FieldReader) -> tuple[str | None, str | None]:
    branch, address = options.text("Branch"), options.text("DeliveryAddress")
    if branch is None and looks_like_branch(address):
        return address, None
    return branch, address


def _payment_status(status: str | None, method: str | None, warnings: list[str]) -> PaymentStatus:
    if status is None:
        return "cod" if is_cash_on_delivery(method) else "unpaid"
    known = _PAYMENT_STATUS_WORDS.get(status.casefold())
    if known:
        return known
    if is_cash_on_delivery(status):
        return "cod"
    warnings.append(f"payment status '{shorten(status)}' is not paid/unpaid/cod; taken as unpaid")
    return "unpaid"


def _reserve_date(options: FieldReader, warnings: list[str]) -> date | None:
    text = options.text("ReserveDate")
    if text is None:
        return None
    parsed = parse_date(text)
    if parsed is None:
        warnings.append(f"reserve date '{shorten(text)}' is not a date (expected DDMMYYYY); left empty")
    return parsed


def _bonus_pay(options: FieldReader, warnings: list[str]) -> Decimal:
    bonus = options.number("BonusPay")
    if bonus.missing:
        return Decimal(0)
    if bonus.value is None:
        warnings.append(f"bonus payment '{shorten(bonus.text or '')}' is not a number; taken as 0")
        return Decimal(0)
    if bonus.value < 0:
        warnings.append(f"bonus payment {show_decimal(bonus.value)} is negative; taken as 0")
        return Decimal(0)
    return bonus.value


def _currency(options: FieldReader, warnings: list[str]) -> str:
    text = options.text("CurrencyInternationalCode")
    code = currency_code(text)
    if text and code is None:
        warnings.append(f"currency '{shorten(text)}' is not a known currency code; taken as UAH")
    return code or "UAH"


def _gift_certificates(text: str | None) -> list[str]:
    return [barcode.strip() for barcode in (text or "").split(",") if barcode.strip()]
