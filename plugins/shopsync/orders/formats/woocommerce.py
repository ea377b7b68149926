"""WooCommerce REST API v3 order JSON: one order or an array of them.

Mapping:
    number (or id)                      -> external_number (number is what the shop shows the customer)
    billing.last_name + first_name (or billing.company) -> customer.full_name
    billing.phone, shipping.phone       -> customer.phones; billing.email -> customer.email
    shipping.{country,state,city,postcode,address_1,address_2}, falling back to billing.* per field
                                        -> customer country, region, city, zip, address
    a shipping address_1 that reads like a branch ("Відділення №12") -> delivery_branch / np_branch
    line_items[]                        -> lines: good_ref = the line's `_shopsync_good_id` meta_data value
                                           when a plugin copied it there, else sku, else the Woo
                                           variation/product id; good_id = that meta value, or N from an
                                           sku "good-N"; otherwise None (Woo line items do not carry product
                                           meta, so the catalog's `_shopsync_good_id` is only known by sku);
                                           sku -> article; name; quantity; price (or total / quantity)
    payment_method_title (or payment_method) -> payment_method
    date_paid set, or set_paid true     -> paid; payment_method "cod" (or a cash-on-delivery title) -> cod
    shipping_lines[0].method_title      -> delivery_method
    customer_note                       -> comment
    currency                            -> currency
    date_created                        -> order_date (shop local time, no offset)
    status cancelled/refunded/failed    -> a warning (the order still lands; the manager decides)
"""

from __future__ import annotations

import re

from shopsync.orders.formats.lines import make_line, unit_price
from shopsync.orders.formats.reader import FieldReader, read_order_date
from shopsync.orders.formats.values import (
    cancelled_status_warning,
    currency_code,
    good_id_from_ref,
    is_cash_on_delivery,
    looks_like_branch,
    payment_status,
    person_name,
    unique_non_empty,
)
from shopsync.orders.model import Order, OrderCustomer, OrderLine

FORMAT = "woocommerce"
GOOD_ID_META_KEY = "_shopsync_good_id"

_GOOD_SKU = re.compile(r"good-(\d+)", re.IGNORECASE | re.ASCII)


def parse_order(order: FieldReader) -> Order:
    number = order.text("number") or order.text("id")
    if not number:
        order.problem("no order number (the WooCommerce fields 'number' and 'id' are empty)")
    lines = [_line(item) for item in order.entries("line_items", "line items") or []]
    order.require_goods(lines, "line_items")
    billing, shipping = order.child("billing"), order.child("shipping")
    warnings = cancelled_status_warning(order.text("status"))

    def address_field(key: str) -> str | None:
        return shipping.text(key) or billing.text(key)

    street = ", ".join(part for part in (address_field("address_1"), address_field("address_2")) if part) or None
    branch = street if looks_like_branch(street) else None
    payment_method = order.text("payment_method")
    return Order(
        external_number=number or "",
        source_format=FORMAT,
        customer=OrderCustomer(
            full_name=_buyer_name(billing, shipping),
            phones=unique_non_empty(billing.text("phone"), shipping.text("phone")),
            email=billing.text("email"),
            country=address_field("country"),
            region=address_field("state"),
            city=address_field("city"),
            zip=address_field("postcode"),
            address=None if branch else street,
            np_branch=branch,
        ),
        lines=lines,
        order_date=read_order_date(order, "date_created", warnings, "ISO 8601"),
        payment_status=payment_status(
            paid=bool(order.text("date_paid")) or order.flag("set_paid"),
            cash_on_delivery=payment_method == "cod" or is_cash_on_delivery(order.text("payment_method_title")),
        ),
        payment_method=order.text("payment_method_title") or payment_method,
        delivery_method=_shipping_method(order),
        delivery_city=address_field("city"),
        delivery_branch=branch,
        delivery_address=None if branch else street,
        comment=order.text("customer_note"),
        currency=currency_code(order.text("currency")) or "UAH",
        warnings=warnings,
    )


def _line(item: FieldReader) -> OrderLine:
    sku = item.text("sku")
    meta_good_id = _meta_value(item, GOOD_ID_META_KEY)
    quantity = item.number("quantity")
    return make_line(
        good_ref=meta_good_id or sku or _woo_id(item.text("variation_id")) or _woo_id(item.text("product_id")),
        good_id=good_id_from_ref(meta_good_id) if meta_good_id else _good_id_from_sku(sku),
        quantity=quantity,
        price=unit_price(item.number("price"), item.number("total"), quantity),
        name=item.text("name"),
        article=sku,
        missing_ref="the line item has no sku or product id",
    )


def _woo_id(text: str | None) -> str | None:
    """Woo writes 0 for 'none' (a product without variations, a deleted product)."""
    return None if text in (None, "0") else text


def _meta_value(item: FieldReader, key: str) -> str | None:
    for meta in item.entries("meta_data", "meta data entries") or []:
        if meta.text("key") == key:
            return meta.text("value")
    return None


def _good_id_from_sku(sku: str | None) -> int | None:
    match = _GOOD_SKU.fullmatch(sku or "")
    return good_id_from_ref(match.group(1)) if match else None


def _buyer_name(billing: FieldReader, shipping: FieldReader) -> str:
    for person in (billing, shipping):
        name = person_name(person.text("last_name"), person.text("first_name"))
        if name:
            return name
    return billing.text("company") or ""


def _shipping_method(order: FieldReader) -> str | None:
    shipping_lines = order.entries("shipping_lines", "shipping lines") or []
    return shipping_lines[0].text("method_title") if shipping_lines else None
