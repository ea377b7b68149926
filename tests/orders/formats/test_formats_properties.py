"""Property tests of the order file parsers (hypothesis): whatever a shop sends, parsing either gives orders
and rejected orders or says the file is unreadable; it never raises anything else, never takes long, and
every value that comes out fits its limit. Order numbers, names, quantities and prices round-trip through
every format, or give a clear problem."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopsync.orders.formats import FORMATS, parse_order_file
from shopsync.orders.formats import limits as order_limits
from shopsync.orders.formats.values import MAX_NUMBER_EXPONENT, parse_decimal
from shopsync.orders.model import CutOffFile, Order, ParsedFile, UnreadableFile

FAST = settings(max_examples=150, deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECONDS_PER_FILE = 2.0
MAX_REASON = 1000

# Field names of all four formats, so that generated objects often look like orders.
KNOWN_KEYS = [
    "Client", "Options", "Goods", "Name", "MPhone", "EMail", "OrderNumber", "GoodID", "Price", "Count",
    "Comment", "BonusPay", "ReserveDate", "GiftCertificate", "OrderDate", "CurrencyInternationalCode",
    "id", "products", "client_first_name", "client_last_name", "phone", "email", "quantity", "price",
    "external_id", "sku", "total_price", "delivery_option", "payment_option", "delivery_provider_data",
    "purchases", "user_title", "full_name", "item", "price_offer_id", "cost", "delivery", "city", "status_group",
    "line_items", "billing", "shipping", "number", "payment_method", "meta_data", "key", "value", "total",
    "orders", "order", "success", "content",
]
HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1E+999999999", "1e-999999999", "9" * 60, "0x10", "1,5",
                     "1 250,50 грн", "-0", "\ud800", "\x00", "", " ", "1e400", ".5", "5.", "+-1"]),
    st.integers(min_value=1, max_value=5000).map(lambda n: "Я" * n),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**50), max_value=10**50),
    st.floats(allow_nan=True, allow_infinity=True), HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=40,
)


def parse_within_bounds(data: bytes, fmt: str = "auto") -> ParsedFile | UnreadableFile:
    """Parse; only ParsedFile or UnreadableFile may come out, quickly, with every value within its limit."""
    started = time.perf_counter()
    try:
        parsed = parse_order_file(data, "orders.json", fmt)
    except UnreadableFile as unreadable:
        assert str(unreadable) and len(str(unreadable)) < MAX_REASON
        outcome: ParsedFile | UnreadableFile = unreadable
    else:
        for order in parsed.orders:
            assert_within_limits(order)
        for rejected in parsed.rejected:
            assert rejected.reasons and all(len(reason) < MAX_REASON for reason in rejected.reasons)
            assert rejected.external_number is None or len(rejected.external_number) <= order_limits.MAX_ORDER_NUMBER
        outcome = parsed
    assert time.perf_counter() - started < SECONDS_PER_FILE
    return outcome


def assert_within_limits(order: Order) -> None:
    assert order.external_number and len(order.external_number) <= order_limits.MAX_ORDER_NUMBER
    assert len(order.customer.full_name) <= order_limits.MAX_NAME
    assert len(order.customer.email or "") <= order_limits.MAX_EMAIL
    assert len(order.comment or "") <= order_limits.MAX_COMMENT
    assert len(order.lines) <= order_limits.MAX_LINES
    for line in order.lines:
        for number in (line.quantity, line.price):
            assert number is None or (number.is_finite() and abs(number.adjusted()) <= MAX_NUMBER_EXPONENT)
        assert all(len(problem) < MAX_REASON for problem in line.problems)
        assert len(line.name or "") <= order_limits.MAX_LINE_NAME
    assert all(len(warning) < MAX_REASON for warning in order.warnings)
    texts = [order.external_number, order.customer.full_name, order.comment or "", *order.warnings]
    for text in texts:
        text.encode("utf-8")              # raises on a lone surrogate: every column can hold each text (empty too)


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_orders_or_an_unreadable_file(data: bytes) -> None:
    parse_within_bounds(data)


@FAST
@given(JSON_VALUES, st.sampled_from(["auto", *FORMATS]))
def test_arbitrary_json_documents_give_orders_or_an_unreadable_file(document: Any, fmt: str) -> None:
    parse_within_bounds(json.dumps(document, allow_nan=True).encode(),
                        fmt)


XML_PIECES = st.sampled_from([
    "<orders>", "</orders>", "<order>", "</order>", "<Client>", "</Client>", "<Options>", "</Options>",
    "<Goods>", "</Goods>", '<Good GoodID="1" Price="1E+999999999" Count="NaN"/>', "<Name>", "</Name>",
    "<OrderNumber>", "</OrderNumber>", "&amp;", "&lt;", "&bogus;", "<!DOCTYPE x>", '<!ENTITY a "b">',
    "<![CDATA[x]]>", "<?xml version='1.0'?>", "text", "Ї", "<", ">", "\"", "'", " ", "\n", "<a:b xmlns:a='u'>",
])


@FAST
@given(st.lists(XML_PIECES, max_size=40).map("".join))
def test_arbitrary_xml_like_text_gives_orders_or_an_unreadable_file(text: str) -> None:
    parse_within_bounds(text.encode("utf-8"))


# The keys that make an object look like an order of each format (see formats.detect).
SHAPES = {
    "torgsoft_json": ["Goods"],
    "prom": ["products", "client_first_name"],
    "rozetka": ["purchases"],
    "woocommerce": ["line_items"],
}


@FAST
@given(st.sampled_from(sorted(SHAPES)), st.dictionaries(st.sampled_from(KNOWN_KEYS), JSON_VALUES, max_size=8),
       st.lists(JSON_VALUES, min_size=1, max_size=3))
def test_orders_of_each_format_with_hostile_values_are_orders_or_rejected_orders(fmt: str, fields: dict,
                                                                                  anchors: list) -> None:
    for key, value in zip(SHAPES[fmt], anchors * 2, strict=False):
        fields[key] = value
    outcome = parse_within_bounds(json.dumps([fields]).encode(), fmt)
    if isinstance(outcome, ParsedFile):
        assert len(outcome.orders) + len(outcome.rejected) == 1
    else:                           # hostile fields gave the object another format's shape as well
        assert "expected" in str(outcome) and "orders, but the file holds" in str(outcome)


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=timedelta(seconds=1))
def test_numbers_parse_with_limits_or_not_at_all(text: str) -> None:
    number = parse_decimal(text)
    assert number is None or (number.is_finite() and abs(number.adjusted()) <= MAX_NUMBER_EXPONENT)


# -- round trips ----------------------------------------------------------------------------------------------

ORDER_NUMBERS = st.text(alphabet="0123456789ABCDEFXYZ-/_#№", min_size=1, max_size=order_limits.MAX_ORDER_NUMBER)
NAMES = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Zs"), max_codepoint=0x1FFFF)
                | st.sampled_from("'’-."), min_size=1, max_size=order_limits.MAX_NAME).map(str.strip).filter(bool)
QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3)
PRICES = st.decimals(min_value=Decimal(0), max_value=Decimal(10_000_000), places=2)


def in_format(fmt: str, number: str, name: str, quantity: Decimal, price: Decimal) -> bytes:
    q, p = str(quantity), str(price)
    documents: dict[str, Any] = {
        "torgsoft_json": {"Client": {"Name": name, "MPhone": "+380501112233"}, "Options": {"OrderNumber": number},
                          "Goods": [{"GoodID": "12", "Price": p, "Count": q}]},
        "prom": {"id": number, "client_last_name": name, "client_first_name": "", "phone": "+380501112233",
                 "products": [{"external_id": "12", "quantity": q, "price": p}]},
        "rozetka": {"id": number, "user_title": {"full_name": name},
                    "purchases": [{"item": {"price_offer_id": "12"}, "quantity": q, "price": p}]},
        "woocommerce": {"number": number, "billing": {"last_name": name, "first_name": ""},
                        "payment_method": "cod", "line_items": [{"sku": "good-12", "quantity": q, "price": p}]},
    }
    if fmt == "torgsoft_xml":
        return (f"<orders><order><Client><Name>{escape(name)}</Name></Client><Options><OrderNumber>"
                f"{escape(number)}</OrderNumber></Options><Goods><Good GoodID=\"12\" Price={quoteattr(p)} "
                f"Count={quoteattr(q)}/></Goods></order></orders>").encode()
    return json.dumps([documents[fmt]], ensure_ascii=False).encode()


ALL_FORMATS = [*FORMATS, "torgsoft_xml"]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@settings(max_examples=60, deadline=timedelta(seconds=3))
@given(number=ORDER_NUMBERS, name=NAMES, quantity=QUANTITIES, price=PRICES)
def test_numbers_names_quantities_and_prices_round_trip(fmt: str, number: str, name: str, quantity: Decimal,
                                                       price: Decimal) -> None:
    parsed = parse_order_file(in_format(fmt, number, name, quantity, price), "orders.json")
    assert not parsed.rejected, parsed.rejected
    [order] = parsed.orders
    assert order.external_number == number
    assert order.customer.full_name == name
    [line] = order.lines
    assert (line.quantity, line.price, line.good_id, line.problems) == (quantity, price, 12, [])


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@settings(max_examples=25, deadline=timedelta(seconds=3))
@given(extra=st.integers(min_value=1, max_value=20_000))
def test_an_over_long_order_number_or_name_is_a_clear_problem(fmt: str, extra: int) -> None:
    too_long_number = "7" * (order_limits.MAX_ORDER_NUMBER + extra)
    too_long_name = "Я" * (order_limits.MAX_NAME + extra)
    for number, name, words in ((too_long_number, "Ім'я", "the order number is"),
                                ("A-1", too_long_name, "the customer's name is")):
        parsed = parse_order_file(in_format(fmt, number, name, Decimal(1), Decimal(1)), "orders.json")
        assert parsed.orders == []
        [rejected] = parsed.rejected
        assert any(reason.startswith(words) and "characters long; the limit is" in reason
                   for reason in rejected.reasons), rejected.reasons


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("value", ["1E+999999999", "9" * 60, "NaN", "Infinity", "1e-999999999", "-5", "0"])
@pytest.mark.parametrize("as_text", [True, False])
def test_hostile_quantities_are_clear_line_problems(fmt: str, value: str, as_text: bool) -> None:
    sentinel = "3.141"
    document = in_format(fmt, "H-1", "Ім'я", Decimal(sentinel), Decimal(1)).decode()
    if fmt == "torgsoft_xml":
        hostile = document.replace(f'Count="{sentinel}"', f"Count={quoteattr(value)}")
    else:
        hostile = document.replace(f'"{sentinel}"', json.dumps(value) if as_text else value)
    assert hostile != document
    started = time.perf_counter()
    parsed = parse_order_file(hostile.encode(), "orders.json")
    assert time.perf_counter() - started < SECONDS_PER_FILE
    [order] = parsed.orders
    [line] = order.lines
    assert line.quantity is None or line.quantity <= 0
    assert line.problems and all(len(problem) < 200 for problem in line.problems), line.problems
    assert any("quantity" in problem for problem in line.problems)


@FAST
@given(st.lists(st.tuples(ORDER_NUMBERS, NAMES, QUANTITIES, PRICES), min_size=1, max_size=3),
       st.sampled_from(["torgsoft_json", "prom", "rozetka", "woocommerce"]), st.booleans(), st.data())
def test_a_json_file_cut_anywhere_is_cut_off(orders, fmt: str, ascii_only: bool, data) -> None:
    """What an upload still going on (or broken off) looks like: always "cut off", so it is taken again."""
    documents = [json.loads(in_format(fmt, *order))[0] for order in orders]
    text = json.dumps(documents, ensure_ascii=ascii_only).encode()
    cut = data.draw(st.integers(min_value=1, max_value=len(text) - 1))
    with pytest.raises(CutOffFile):
        parse_order_file(text[:cut], "orders.json")
