"""WooCommerce REST v3 order JSON -> Order, field by field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from formats_helpers import only_order, parse_json, parse_sample

from shopsync.orders.model import OrderLine


def test_woocommerce_sample_maps_every_field():
    parsed = parse_sample("woocommerce_orders.json")
    assert parsed.format == "woocommerce"
    assert not parsed.rejected
    cod, paid = parsed.orders

    assert cod.external_number == "5123"
    assert cod.source_format == "woocommerce"
    assert cod.customer.full_name == "Савченко Дмитро"
    assert cod.customer.phones == ["+38(066)777-88-99"]
    assert cod.customer.email == "d.savchenko@ukr.net"
    assert (cod.customer.country, cod.customer.region, cod.customer.city, cod.customer.zip) == (
        "UA", "Полтавська", "Полтава", "36000"
    )
    assert cod.delivery_branch == cod.customer.np_branch == "Відділення №3: вул. Пушкіна, 41"
    assert cod.delivery_address is None
    assert cod.delivery_method == "Нова Пошта"
    assert cod.payment_method == "Оплата при отриманні"
    assert cod.payment_status == "cod"
    assert cod.comment == "Зателефонуйте за годину до доставки"
    assert cod.order_date == datetime(2024, 5, 15, 16, 20, 41)
    assert cod.currency == "UAH"
    assert cod.lines == [
        OrderLine(good_ref="good-45", good_id=45, quantity=Decimal(1), price=Decimal(1250),
                  name="Светр в'язаний — M", article="good-45"),
        OrderLine(good_ref="212", good_id=212, quantity=Decimal(2), price=Decimal(350),
                  name="Шапка зимова", article="HAT-WINTER-01"),
    ]

    assert paid.customer.full_name == "Литвиненко Світлана"
    assert paid.delivery_address == paid.customer.address == "вул. Соборна, 12, кв. 4"  # billing as fallback
    assert paid.delivery_city == "Вінниця"
    assert paid.delivery_method == "Кур'єр Укрпошта"
    assert paid.payment_status == "paid"                 # date_paid is set
    assert paid.lines[0].good_id == 120


def _woo_order(**fields):
    return {"id": 9, "billing": {"first_name": "Іван", "last_name": "Петренко"},
            "line_items": [{"product_id": 1, "variation_id": 0, "sku": "good-5", "quantity": 1, "price": 10}], **fields}


@pytest.mark.parametrize(
    ("item", "good_ref", "good_id", "article"),
    [
        ({"sku": "good-7"}, "good-7", 7, "good-7"),
        ({"sku": "SWEATER-M"}, "SWEATER-M", None, "SWEATER-M"),
        ({"sku": "x-good-7"}, "x-good-7", None, "x-good-7"),
        ({"sku": "", "product_id": 611, "variation_id": 615}, "615", None, None),
        ({"sku": "", "product_id": 611, "variation_id": 0}, "611", None, None),
        ({"sku": "SWEATER-M", "meta_data": [{"key": "_shopsync_good_id", "value": 33}]}, "33", 33, "SWEATER-M"),
    ],
)
def test_woocommerce_good_reference(item, good_ref, good_id, article):
    line = only_order(parse_json(_woo_order(line_items=[{"quantity": 1, "price": 10, **item}]))).lines[0]
    assert (line.good_ref, line.good_id, line.article) == (good_ref, good_id, article)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"payment_method": "cod"}, "cod"), ({"payment_method": "bacs"}, "unpaid"),
     ({"payment_method": "bacs", "date_paid": "2024-05-16T10:03:55"}, "paid"),
     ({"payment_method": "cod", "set_paid": True}, "paid"), ({"date_paid": None}, "unpaid")],
)
def test_woocommerce_payment_status(fields, expected):
    assert only_order(parse_json(_woo_order(**fields))).payment_status == expected


def test_woocommerce_number_and_price_fallbacks():
    items = [{"sku": "good-5", "quantity": 4, "total": "100.00"}]
    order = only_order(parse_json(_woo_order(number="WC-9", line_items=items)))
    assert order.external_number == "WC-9"
    assert order.lines[0].price == Decimal("25.00")


def test_woocommerce_status_cancelled_is_a_warning():
    order = only_order(parse_json(_woo_order(status="cancelled")))
    assert order.warnings == ["the shop marks this order as 'cancelled'"]
