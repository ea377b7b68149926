"""Rozetka Seller API order JSON -> Order, field by field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from formats_helpers import only_order, parse_json, parse_sample

from shopsync.orders.model import OrderLine


def test_rozetka_sample_maps_every_field():
    parsed = parse_sample("rozetka_orders.json")
    assert parsed.format == "rozetka"
    assert not parsed.rejected
    branch, courier = parsed.orders

    assert branch.external_number == "781234567"
    assert branch.source_format == "rozetka"
    assert branch.customer.full_name == "Кравченко Олександр Сергійович"
    assert branch.customer.phones == ["380661234567"]
    assert branch.customer.email is None                 # Rozetka's "true" placeholder is not an address
    assert (branch.customer.city, branch.customer.region) == ("Київ", "Київська")
    assert branch.delivery_city == "Київ"
    assert branch.delivery_method == "Нова Пошта"
    assert branch.delivery_branch == branch.customer.np_branch == "363"
    assert branch.delivery_address is None
    assert branch.payment_method == "Оплата під час отримання товару"
    assert branch.payment_status == "cod"
    assert branch.tracking_number is None
    assert branch.comment == "Передзвоніть, будь ласка"
    assert branch.order_date == datetime(2024, 5, 15, 12, 30, 11)
    assert branch.lines == [
        OrderLine(good_ref="17", good_id=17, quantity=Decimal(1), price=Decimal("1958.00"),
                  name="Черевики жіночі шкіряні, 38", article="TS-17-38"),
        OrderLine(good_ref="254", good_id=254, quantity=Decimal(2), price=Decimal("349.00"),
                  name="Шкарпетки вовняні", article="TS-254"),
    ]

    assert courier.customer.full_name == "Гончаренко Марія"   # built from the parts when full_name is empty
    assert courier.customer.phones == ["+380 (73) 000-11-22"]
    assert courier.delivery_branch is None
    assert courier.delivery_address == "просп. Шевченка, 14, 27"
    assert courier.delivery_city == "Дніпро"
    assert courier.payment_status == "paid"
    assert courier.tracking_number == "20450987654321"
    assert courier.lines[0].name == "Рукавички шкіряні"
    assert courier.lines[0].good_id == 120


def _rozetka_order(**fields):
    return {"id": 7, "user_title": {"full_name": "Іван"}, "user_phone": "380501234567",
            "purchases": [{"item_id": 55, "price": "10", "quantity": 1, "item": {"price_offer_id": "9"}}], **fields}


def test_rozetka_single_order_envelope_and_city_as_text():
    order = only_order(parse_json({"success": True, "content": _rozetka_order(delivery={"city": "Суми"})}))
    assert order.delivery_city == "Суми"


def test_rozetka_good_reference_falls_back_to_item_id():
    purchases = [{"item_id": 55, "price": "10", "quantity": 1, "item": {"article": "X-1"}}]
    line = only_order(parse_json(_rozetka_order(purchases=purchases))).lines[0]
    assert (line.good_ref, line.good_id, line.article) == ("55", None, "X-1")


def test_rozetka_unsuccessful_order_is_a_warning():
    order = only_order(parse_json(_rozetka_order(status_group=3)))
    assert order.warnings == ["Rozetka marks this order as unsuccessful (status group 3)"]


def test_rozetka_wrong_kind_rejects_the_order():
    purchases = [{"item_id": 55, "price": "10", "quantity": {"n": 1}}]
    orders = [_rozetka_order(), _rozetka_order(id=8, purchases=purchases)]
    parsed = parse_json({"success": True, "content": {"orders": orders}})
    assert len(parsed.orders) == 1
    assert parsed.rejected[0].external_number == "8"
    assert parsed.rejected[0].reasons == ["the field purchases[1].quantity should be text or a number, not an object"]
