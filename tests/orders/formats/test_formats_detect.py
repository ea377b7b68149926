"""Format detection from the shape, envelopes, explicit formats and files mixing shapes."""

from __future__ import annotations

import pytest
from formats_helpers import parse_json, torgsoft_order

from shopsync.orders.formats import parse_order_file
from shopsync.orders.formats.detect import NO_KNOWN_FORMAT, detect_shape
from shopsync.orders.model import UnreadableFile

PROM = {"id": 1, "client_first_name": "Тарас", "products": [{"external_id": "5", "quantity": 1, "price": "10"}]}
ROZETKA = {"id": 2, "user_title": {"full_name": "Іван"}, "purchases": [{"item_id": 5, "quantity": 1, "price": "1"}]}
WOO = {"id": 3, "billing": {"first_name": "Іван"}, "line_items": [{"sku": "good-5", "quantity": 1, "price": 1}]}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (torgsoft_order(), "torgsoft_json"),
        ({"Options": {"OrderNumber": "1"}}, "torgsoft_json"),
        ({"goods": []}, "torgsoft_json"),
        (PROM, "prom"),
        ({"products": [], "delivery_option": {"name": "НП"}}, "prom"),
        (ROZETKA, "rozetka"),
        ({"purchases": []}, "rozetka"),
        (WOO, "woocommerce"),
        ({"billing": {}, "payment_method": "cod"}, "woocommerce"),
        ({"products": []}, None),
        ({"billing": {}}, None),
        ({"hello": "world"}, None),
        ([], None),
        ("text", None),
    ],
)
def test_detect_shape(entry, expected):
    assert detect_shape(entry) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (torgsoft_order(), "torgsoft_json"),
        ([torgsoft_order("1"), torgsoft_order("2")], "torgsoft_json"),
        (PROM, "prom"),
        ({"orders": [PROM]}, "prom"),
        ({"order": PROM}, "prom"),
        (ROZETKA, "rozetka"),
        ({"success": True, "content": {"orders": [ROZETKA]}}, "rozetka"),
        ({"success": True, "content": ROZETKA}, "rozetka"),
        (WOO, "woocommerce"),
        ([WOO, WOO], "woocommerce"),
    ],
)
def test_auto_detects_the_format_and_unwraps_envelopes(document, expected):
    parsed = parse_json(document)
    assert parsed.format == expected
    assert parsed.orders and not parsed.rejected


def test_first_recognisable_entry_decides_and_other_shapes_are_rejected():
    parsed = parse_json(["not an order", torgsoft_order("1"), PROM, torgsoft_order("2"), {"hello": 1}])
    assert parsed.format == "torgsoft_json"
    assert [order.external_number for order in parsed.orders] == ["1", "2"]
    assert [(r.position, r.reasons) for r in parsed.rejected] == [
        (1, ["this entry is not an order: it is text"]),
        (3, ["this order is in a different format (Prom.ua) than the rest of the file (Torgsoft JSON)"]),
        (5, ["no order number", "the order has no goods"]),
    ]


def test_unknown_shape_is_unreadable():
    with pytest.raises(UnreadableFile) as caught:
        parse_json([{"hello": "world"}])
    assert str(caught.value) == NO_KNOWN_FORMAT


def test_empty_array_is_a_file_without_orders():
    parsed = parse_json([])
    assert (parsed.format, parsed.orders, parsed.rejected) == ("empty", [], [])
    assert parse_json({"orders": []}, fmt="prom").format == "prom"


def test_explicit_format_is_used_for_unrecognised_entries():
    parsed = parse_json([{"id": 5, "products": [{"external_id": "1", "quantity": 1, "price": "1"}]}], fmt="prom")
    assert parsed.format == "prom"
    assert parsed.orders[0].external_number == "5"


def test_explicit_format_that_does_not_match_the_file_is_unreadable():
    with pytest.raises(UnreadableFile, match="expected Prom.ua orders, but the file holds Torgsoft JSON orders"):
        parse_json([torgsoft_order()], fmt="prom")


def test_explicit_format_rejects_single_foreign_orders():
    parsed = parse_json([PROM, torgsoft_order()], fmt="prom")
    assert len(parsed.orders) == 1
    assert parsed.rejected[0].reasons == [
        "this order is in a different format (Torgsoft JSON) than the rest of the file (Prom.ua)"
    ]


def test_unknown_format_name_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown order format"):
        parse_order_file(b"[]", "x.json", "yml")


def test_marketplace_error_response_is_unreadable():
    with pytest.raises(UnreadableFile, match="error response"):
        parse_json({"success": False, "errors": {"message": "Incorrect access token"}})


@pytest.mark.parametrize(("text", "reason"), [(b"null", "null"), (b"42", "only a number"), (b"true", "true/false"),
                                              (b'"x"', "only a piece of text")])
def test_scalar_documents_are_unreadable(text: bytes, reason: str):
    with pytest.raises(UnreadableFile, match=reason):
        parse_order_file(text, "x.json")
