"""Prom.ua order JSON -> Order, field by field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from formats_helpers import only_order, parse_json, parse_sample

from shopsync.orders.model import OrderLine

KYIV_SUMMER = timezone(timedelta(hours=3))


def test_prom_sample_maps_every_field():
    parsed = parse_sample("prom_orders.json")
    assert parsed.format == "prom"
    assert not parsed.rejected
    paid, cod = parsed.orders

    assert paid.external_number == "254871203"
    assert paid.source_format == "prom"
    assert paid.customer.full_name == "Мельник Тарас Іванович"
    assert paid.customer.phones == ["+380501234567"]
    assert paid.customer.email == "taras.melnyk@gmail.com"
    assert paid.customer.city == paid.delivery_city == "Київ"
    assert paid.delivery_method == "Нова Пошта"
    assert paid.delivery_branch == paid.customer.np_branch == "1ec09d88-e1c2-11e3-8c4a-0050568002cf"
    assert paid.delivery_branch_ref == "1ec09d88-e1c2-11e3-8c4a-0050568002cf"
    assert paid.delivery_address == "Київ, Відділення №5 (до 30 кг на одне місце): вул. Федорова, 32"
    assert paid.tracking_number == "20450912345678"
    assert paid.payment_method == "Пром-оплата"
    assert paid.payment_status == "paid"
    assert paid.comment == "Доставте, будь ласка, до п'ятниці"
    assert paid.order_date == datetime(2024, 5, 15, 10, 12, 45, 183642, tzinfo=KYIV_SUMMER)
    assert paid.currency == "UAH"
    assert paid.lines == [
        OrderLine(good_ref="17", good_id=17, quantity=Decimal(1), price=Decimal("1958.36"),
                  name="Черевики жіночі шкіряні, 38", article="TS-17-38"),
        OrderLine(good_ref="254", good_id=254, quantity=Decimal(1), price=Decimal("349"),
                  name="Шкарпетки вовняні", article="TS-254"),
    ]

    assert cod.customer.full_name == "Ткаченко Наталія"
    assert cod.customer.email is None
    assert cod.payment_status == "cod"                                 # "Наложенный платеж"
    assert cod.delivery_branch == "Харків, Відділення №23: вул. Сумська, 10"  # no warehouse id: the address
    assert cod.delivery_branch_ref is None
    assert cod.delivery_city == "Харків"
    assert cod.tracking_number is None
    assert cod.lines == [OrderLine(good_ref="TS-88", good_id=None, quantity=Decimal(2), price=Decimal(620),
                                   name="Шарф в'язаний", article="TS-88")]


def _prom_order(**fields):
    return {"id": 1, "client_first_name": "Тарас", "phone": "0501234567",
            "products": [{"external_id": "5", "quantity": 1, "price": "10"}], **fields}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"payment_data": {"status": "paid"}}, "paid"),
        ({"payment_data": {"status": "paid_out"}}, "paid"),
        ({"payment_data": {"status": "unpaid"}}, "unpaid"),
        ({"payment_option": {"name": "Післяплата"}}, "cod"),
        ({"payment_option": {"name": "Оплата при отриманні"}}, "cod"),
        ({"payment_data": {"type": "cash_on_delivery"}}, "cod"),
        ({"payment_option": {"name": "Наложенный платеж"}, "payment_data": {"status": "paid"}}, "paid"),
        ({}, "unpaid"),
    ],
)
def test_prom_payment_status(fields, expected):
    assert only_order(parse_json(_prom_order(**fields))).payment_status == expected


@pytest.mark.parametrize(
    ("product", "good_ref", "good_id"),
    [
        ({"id": 99, "external_id": "17", "sku": "A-1"}, "17", 17),
        ({"id": 99, "external_id": "", "sku": "A-1"}, "A-1", None),
        ({"id": 99, "sku": "42"}, "42", None),          # only external_id is our goods.id
        ({"id": 99}, "99", None),
    ],
)
def test_prom_good_reference(product, good_ref, good_id):
    products = [{**product, "quantity": 1, "price": "10"}]
    line = only_order(parse_json(_prom_order(products=products))).lines[0]
    assert (line.good_ref, line.good_id) == (good_ref, good_id)


def test_prom_price_from_total_when_missing():
    products = [{"external_id": "5", "quantity": 3, "total_price": "300 грн."}]
    line = only_order(parse_json(_prom_order(products=products))).lines[0]
    assert (line.price, line.problems) == (Decimal("100.00"), [])


def test_prom_envelopes():
    assert only_order(parse_json({"order": _prom_order()})).external_number == "1"
    assert len(parse_json({"orders": [_prom_order(id=1), _prom_order(id=2)]}).orders) == 2


def test_prom_cancelled_status_is_a_warning():
    order = only_order(parse_json(_prom_order(status="canceled")))
    assert order.warnings == ["the shop marks this order as 'canceled'"]


def test_prom_rejections():
    parsed = parse_json([_prom_order(id=None), _prom_order(products=[])], fmt="prom")
    assert [r.reasons for r in parsed.rejected] == [
        ["no order number (the Prom.ua field 'id' is empty)"], ["the order has no goods"],
    ]
