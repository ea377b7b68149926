"""Prom.ua order JSON, as their API returns it: one order, {"orders": [...]}, {"order": {...}} or an array.

Mapping:
    id                                  -> external_number, as is (the invoice is unique per shop + number)
    client_last_name, client_first_name, client_second_name -> customer.full_name ("surname name patronymic")
    phone, email                        -> customer.phones, customer.email
    products[]                          -> lines: good_ref = external_id (the offer id WE exported, = goods.id)
                                           or else sku or else Prom's own product id; good_id only from
                                           external_id; sku -> article; name; quantity; price (Prom writes
                                           money as text, "1 250,50 грн" is accepted; total_price / quantity
                                           when price is absent)
    delivery_option.name                -> delivery_method
    delivery_provider_data.recipient_warehouse_id -> delivery_branch and customer.np_branch (the carrier's
                                           branch reference); without it a delivery_address that reads like a
                                           branch ("Відділення №5") is the branch; also delivery_branch_ref
                                           (the channel pull keeps it on the invoice for the carrier directory)
    delivery_provider_data.declaration_number     -> tracking_number (the waybill, TTN)
    delivery_address                    -> delivery_address; its part before the first comma is the city
                                           (Prom writes "Київ, Відділення №5: вул. ...") unless
                                           delivery_provider_data.recipient_address.city_name is given
    payment_option.name                 -> payment_method
    payment_data.status paid/paid_out   -> paid; else cash on delivery ("Наложенный платеж", "Післяплата",
                                           "Оплата при отриманні", payment_data.type cash_on_delivery) -> cod
    client_notes                        -> comment
    date_created                        -> order_date (ISO 8601 with offset)
    status cancelled/canceled           -> a warning (the order still lands; the manager decides)
"""

from __future__ import annotations

from shopsync.orders.formats.lines import make_line, unit_price
from shopsync.orders.formats.reader import FieldReader, read_order_date
from shopsync.orders.formats.values import (
    cancelled_status_warning,
    good_id_from_ref,
    is_cash_on_delivery,
    looks_like_branch,
    payment_status,
    person_name,
    unique_non_empty,
)
from shopsync.orders.model import Order, OrderCustomer, OrderLine

FORMAT = "prom"

_PAID_STATUSES = {"paid", "paid_out"}


def parse_order(order: FieldReader) -> Order:
    number = order.text("id")
    if not number:
        order.problem("no order number (the Prom.ua field 'id' is empty)")
    lines = [_line(product) for product in order.entries("products", "products") or []]
    order.require_goods(lines, "products")
    warnings = cancelled_status_warning(order.text("status"))
    provider = order.child("delivery_provider_data")
    address = order.text("delivery_address")
    branch = provider.text("recipient_warehouse_id") or (address if looks_like_branch(address) else None)
    city = provider.child("recipient_address").text("city_name") or _city_from_address(address)
    payment_option, payment_data = order.child("payment_option"), order.child("payment_data")
    return Order(
        external_number=number or "",
        source_format=FORMAT,
        customer=OrderCustomer(
            full_name=person_name(
                order.text("client_last_name"), order.text("client_first_name"), order.text("client_second_name")
            ),
            phones=unique_non_empty(order.text("phone")),
            email=order.text("email"),
            city=city,
            address=None if branch == address else address,
            np_branch=branch,
        ),
        lines=lines,
        order_date=read_order_date(order, "date_created", warnings, "ISO 8601"),
        payment_status=payment_status(
            paid=(payment_data.text("status") or "").casefold() in _PAID_STATUSES,
            cash_on_delivery=is_cash_on_delivery(payment_option.text("name"), payment_data.text("type")),
        ),
        payment_method=payment_option.text("name"),
        delivery_method=order.child("delivery_option").text("name"),
        delivery_city=city,
        delivery_branch=branch,
        delivery_address=address,
        comment=order.text("client_notes"),
        tracking_number=provider.text("declaration_number"),
        delivery_branch_ref=provider.text("recipient_warehouse_id"),
        warnings=warnings,
    )


def _line(product: FieldReader) -> OrderLine:
    external_id, sku = product.text("external_id"), product.text("sku")
    quantity = product.number("quantity")
    return make_line(
        good_ref=external_id or sku or product.text("id"),
        good_id=good_id_from_ref(external_id),
        quantity=quantity,
        price=unit_price(product.number("price"), product.number("total_price"), quantity),
        name=product.text("name"),
        article=sku,
        missing_ref="the product has no external_id, sku or id",
    )


def _city_from_address(address: str | None) -> str | None:
    if not address or "," not in address:
        return None
    return address.split(",", 1)[0].strip() or None
