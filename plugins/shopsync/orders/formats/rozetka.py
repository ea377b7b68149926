"""Rozetka Seller API order JSON: one order, an array, {"success": true, "content": {"orders": [...]}} (search)
or {"success": true, "content": {order}} (one order).

Mapping:
    id                                  -> external_number
    user_title.full_name (or last_name + first_name + second_name) -> customer.full_name
    user_phone, delivery.recipient_phone -> customer.phones
    user.email / email                  -> customer.email, only when it is an address (Rozetka often hides it)
    delivery.city (an object with name/title, or text); city.region_title -> city, region
    delivery.delivery_service_name      -> delivery_method
    delivery.place_number               -> delivery_branch and customer.np_branch, as sent (e.g. "363"), when
                                           delivery.place_street is empty (delivery to a branch);
                                           otherwise place_street, place_number, place_house, place_flat
                                           -> delivery_address (courier delivery)
    purchases[]                         -> lines: good_ref = item.price_offer_id (the offer id WE exported,
                                           = goods.id) or else Rozetka's item_id; item.article -> article;
                                           item_name -> name; price (or cost / quantity); quantity
    payment_type_name / payment_type_title / payment_type -> payment_method
    payment_status "Оплачений"/"paid" or status_payment.name "paid" -> paid; else cash on delivery
                                           ("Оплата під час отримання товару", "Післяплата") -> cod
    ttn                                 -> tracking_number
    created                             -> order_date ("YYYY-MM-DD HH:MM:SS", Kyiv time)
    comment                             -> comment
    status_group 3 (unsuccessful)       -> a warning (the order still lands; the manager decides)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from shopsync.orders.formats.lines import make_line, unit_price
from shopsync.orders.formats.reader import FieldReader, read_order_date
from shopsync.orders.formats.values import (
    good_id_from_ref,
    is_cash_on_delivery,
    payment_status,
    person_name,
    unique_non_empty,
)
from shopsync.orders.model import Order, OrderCustomer, OrderLine

FORMAT = "rozetka"

_PAID = re.compile(r"^(paid|success|оплачен)", re.IGNORECASE)


def parse_order(order: FieldReader) -> Order:
    number = order.text("id")
    if not number:
        order.problem("no order number (the Rozetka field 'id' is empty)")
    lines = [_line(purchase) for purchase in order.entries("purchases", "purchases") or []]
    order.require_goods(lines, "purchases")
    delivery = order.child("delivery")
    city_info = delivery.child("city") if isinstance(delivery.value("city"), Mapping) else None
    city = delivery.text_or_name("city")
    branch, address = _branch_and_address(delivery)
    payment_method = _payment_method(order)
    warnings = _status_warnings(order)
    return Order(
        external_number=number or "",
        source_format=FORMAT,
        customer=OrderCustomer(
            full_name=_buyer_name(order.child("user_title")),
            phones=unique_non_empty(order.text("user_phone"), delivery.text("recipient_phone")),
            email=_email(order),
            region=city_info.text("region_title") if city_info else None,
            city=city,
            address=address,
            np_branch=branch,
        ),
        lines=lines,
        order_date=read_order_date(order, "created", warnings, "YYYY-MM-DD HH:MM:SS"),
        payment_status=payment_status(
            paid=_is_paid(order),
            cash_on_delivery=is_cash_on_delivery(payment_method, order.text("payment_type")),
        ),
        payment_method=payment_method,
        delivery_method=delivery.text("delivery_service_name"),
        delivery_city=city,
        delivery_branch=branch,
        delivery_address=address,
        comment=order.text("comment"),
        tracking_number=order.text("ttn"),
        warnings=warnings,
    )


def _line(purchase: FieldReader) -> OrderLine:
    item = purchase.child("item")
    offer_id = item.text("price_offer_id")
    quantity = purchase.number("quantity")
    return make_line(
        good_ref=offer_id or purchase.text("item_id") or item.text("id"),
        good_id=good_id_from_ref(offer_id),
        quantity=quantity,
        price=unit_price(purchase.number("price"), purchase.number("cost"), quantity),
        name=purchase.text("item_name") or item.text("name"),
        article=item.text("article"),
        missing_ref="the purchase has no item.price_offer_id or item_id",
    )


def _buyer_name(title: FieldReader) -> str:
    return title.text("full_name") or person_name(
        title.text("last_name"), title.text("first_name"), title.text("second_name")
    )


def _email(order: FieldReader) -> str | None:
    email = order.text("email") or order.child("user").text("email")
    return email if email and "@" in email else None


def _branch_and_address(delivery: FieldReader) -> tuple[str | None, str | None]:
    street, number = delivery.text("place_street"), delivery.text("place_number")
    if not street:
        return number, None
    parts = (street, number, delivery.text("place_house"), delivery.text("place_flat"))
    return None, ", ".join(part for part in parts if part)


def _payment_method(order: FieldReader) -> str | None:
    method = order.text("payment_type_name") or order.text("payment_type_title") or order.text("payment_type")
    if method is None or method.casefold() == "undefined":
        return order.child("payment").text("payment_method_name")
    return method


def _is_paid(order: FieldReader) -> bool:
    texts = (order.text("payment_status"), order.child("status_payment").text("name"))
    return any(text and _PAID.match(text) for text in texts)


def _status_warnings(order: FieldReader) -> list[str]:
    if order.text("status_group") == "3":
        return ["Rozetka marks this order as unsuccessful (status group 3)"]
    return []
