"""Length limits on what one order may carry, checked after parsing and before anything reaches the database.

Identifying and contact fields (order number, names, e-mail, phones, addresses, good references) that are
too long reject the order with a reason naming the field: cutting them would store a different customer or
order. Free text a person only reads (the comment, a good's name as the shop wrote it) is cut to its limit
with a warning on the order. Limits are in characters; at 4 bytes a character the longest indexed value
(the order number, the e-mail) stays far below PostgreSQL's ~2700-byte btree row limit.
See docs/decisions.md, "Order files: limits".
"""

from __future__ import annotations

from shopsync.orders.model import Order

MAX_ORDER_NUMBER = 100
MAX_NAME = 200
MAX_EMAIL = 254                 # RFC 5321's longest address
MAX_PHONE = 50
MAX_PLACE = 200                 # country, region, city, zip, branch
MAX_ADDRESS = 500
MAX_METHOD = 200                # payment / delivery method, currency, tracking number
MAX_GOOD_REF = 100              # the shop's good reference, article
MAX_PHONES = 5
MAX_LINES = 1000
MAX_CERTIFICATES = 50
MAX_LINE_NAME = 500             # cut (free text)
MAX_COMMENT = 2000              # cut (free text)


def _too_long(label: str, value: str | None, limit: int) -> list[str]:
    if value is not None and len(value) > limit:
        return [f"{label} is {len(value):,} characters long; the limit is {limit}"]
    return []


def _cut(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[: limit - 1] + "…"


def limit_problems(order: Order) -> list[str]:
    """Why the order is too big to accept (empty when it fits)."""
    customer = order.customer
    problems = _too_long("the order number", order.external_number, MAX_ORDER_NUMBER)
    problems += _too_long("the customer's name", customer.full_name, MAX_NAME)
    problems += _too_long("the customer's e-mail", customer.email, MAX_EMAIL)
    if len(customer.phones) > MAX_PHONES:
        problems.append(f"the order has {len(customer.phones)} phone numbers; the limit is {MAX_PHONES}")
    for phone in customer.phones[:MAX_PHONES]:
        problems += _too_long("a phone number", phone, MAX_PHONE)
    for label, value in (("country", customer.country), ("region", customer.region), ("city", customer.city),
                         ("zip code", customer.zip), ("branch", customer.np_branch),
                         ("delivery city", order.delivery_city), ("delivery branch", order.delivery_branch)):
        problems += _too_long(f"the {label}", value, MAX_PLACE)
    problems += _too_long("the address", customer.address, MAX_ADDRESS)
    problems += _too_long("the delivery address", order.delivery_address, MAX_ADDRESS)
    for label, value in (("payment method", order.payment_method), ("delivery method", order.delivery_method),
                         ("tracking number", order.tracking_number), ("currency", order.currency)):
        problems += _too_long(f"the {label}", value, MAX_METHOD)
    problems += _line_problems(order)
    if len(order.gift_certificates) > MAX_CERTIFICATES:
        problems.append(f"the order has {len(order.gift_certificates)} gift certificates; the limit is "
                        f"{MAX_CERTIFICATES}")
    for code in order.gift_certificates[:MAX_CERTIFICATES]:
        problems += _too_long("a gift certificate code", code, MAX_GOOD_REF)
    return problems


def _line_problems(order: Order) -> list[str]:
    if len(order.lines) > MAX_LINES:
        return [f"the order has {len(order.lines):,} lines; the limit is {MAX_LINES}"]
    problems: list[str] = []
    for number, line in enumerate(order.lines, start=1):
        problems += _too_long(f"line {number}: the good's reference", line.good_ref, MAX_GOOD_REF)
        problems += _too_long(f"line {number}: the article", line.article, MAX_GOOD_REF)
    return problems


def cut_free_text(order: Order) -> None:
    """Cut the comment and the goods' names to their limits, with a warning saying so."""
    if order.comment is not None and len(order.comment) > MAX_COMMENT:
        order.warnings.append(f"the comment was {len(order.comment):,} characters long; only the first "
                              f"{MAX_COMMENT} are kept")
        order.comment = _cut(order.comment, MAX_COMMENT)
    for number, line in enumerate(order.lines, start=1):
        if line.name is not None and len(line.name) > MAX_LINE_NAME:
            order.warnings.append(f"line {number}: the good's name was {len(line.name):,} characters long; "
                                  f"only the first {MAX_LINE_NAME} are kept")
            line.name = _cut(line.name, MAX_LINE_NAME)
