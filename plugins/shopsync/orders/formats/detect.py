"""Which order format a JSON document is in, told from its shape, and where its orders are.

Envelopes unwrapped: a bare array; Prom.ua {"orders": [...]} / {"order": {...}}; Rozetka {"success": true,
"content": {"orders": [...]}} / {"success": true, "content": {order}}. A single object is one order.

Shapes (field names compared loosely, see values.fold_key):
    torgsoft_json  Client, Options or Goods
    rozetka        purchases or user_title
    woocommerce    line_items, or billing together with payment_method / shipping_lines / order_key
    prom           products together with client_first_name / client_last_name / delivery_option / payment_option

A file is in the format of its first order with a recognisable shape; an order of another recognisable
shape in the same file is rejected on its own ("in a different format than the rest of the file").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopsync.orders.formats.reader import kind_of
from shopsync.orders.formats.values import fold_key
from shopsync.orders.model import UnreadableFile

FORMAT_LABELS = {
    "torgsoft_json": "Torgsoft JSON",
    "torgsoft_xml": "Torgsoft XML",
    "prom": "Prom.ua",
    "rozetka": "Rozetka",
    "woocommerce": "WooCommerce",
}
NO_KNOWN_FORMAT = (
    "no known order format: expected Torgsoft JSON with Client/Options/Goods, a Prom.ua order, "
    "a Rozetka order or a WooCommerce order"
)

_TORGSOFT_KEYS = {"client", "options", "goods"}
_ROZETKA_KEYS = {"purchases", "usertitle"}
_WOO_COMPANIONS = {"paymentmethod", "shippinglines", "orderkey"}
_PROM_COMPANIONS = {"clientfirstname", "clientlastname", "deliveryoption", "paymentoption"}


def detect_shape(entry: Any) -> str | None:
    """The format one order object looks like, or None."""
    if not isinstance(entry, Mapping):
        return None
    keys = {fold_key(key) for key in entry if isinstance(key, str)}
    if keys & _TORGSOFT_KEYS:
        return "torgsoft_json"
    if keys & _ROZETKA_KEYS:
        return "rozetka"
    if "lineitems" in keys or ("billing" in keys and keys & _WOO_COMPANIONS):
        return "woocommerce"
    if "products" in keys and keys & _PROM_COMPANIONS:
        return "prom"
    return None


def order_entries(document: Any) -> list[Any]:
    """The order objects of a parsed JSON document (unwrapping API envelopes), or UnreadableFile."""
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        raise UnreadableFile(f"the file holds {_describe_scalar(document)}, not orders")
    if document.get("success") is False:
        raise UnreadableFile("the file is an error response from the marketplace API, not orders")
    content = document.get("content")
    if isinstance(content, Mapping) and detect_shape(document) is None:
        return _listed_orders(content) or [content]
    return _listed_orders(document) or [document]


def _listed_orders(envelope: Mapping[str, Any]) -> list[Any] | None:
    if detect_shape(envelope) is not None:
        return None
    orders, single = envelope.get("orders"), envelope.get("order")
    if isinstance(orders, list):
        return orders
    if isinstance(single, Mapping):
        return [single]
    return None


def _describe_scalar(value: Any) -> str:
    if value is None:
        return "only the JSON value null"
    if isinstance(value, str):
        return "only a piece of text"
    return f"only {kind_of(value)}"
