"""One ordered good -> OrderLine, with the plausibility checks every format shares.

A line problem flags the order (nothing is reserved for it) but never rejects it: the manager sees the
order with the doubtful line and decides.
"""

from __future__ import annotations

from decimal import Decimal

from shopsync.orders.formats.reader import NumberField
from shopsync.orders.formats.values import out_of_range, shorten, show_decimal
from shopsync.orders.model import OrderLine

MAX_PLAUSIBLE_QUANTITY = Decimal(100_000)
MAX_PLAUSIBLE_PRICE = Decimal(10_000_000)   # UAH per unit; also keeps numeric(14, 2) from overflowing


def quantity_problems(quantity: NumberField) -> list[str]:
    if quantity.missing:
        return ["quantity is missing"]
    if quantity.value is None:
        return [_not_a_number("quantity", quantity.text or "")]
    if quantity.value <= 0:
        return [f"quantity {show_decimal(quantity.value)} must be more than zero"]
    if quantity.value > MAX_PLAUSIBLE_QUANTITY:
        return [f"quantity {show_decimal(quantity.value)} is implausible"]
    return []


def price_problems(price: NumberField) -> list[str]:
    if price.missing:
        return ["price is missing"]
    if price.value is None:
        return [_not_a_number("price", price.text or "")]
    if price.value < 0:
        return [f"price {show_decimal(price.value)} is negative"]
    if price.value > MAX_PLAUSIBLE_PRICE:
        return [f"price {show_decimal(price.value)} is implausible"]
    return []


def _not_a_number(what: str, text: str) -> str:
    if out_of_range(text):
        return f"{what} '{shorten(text)}' is out of range (too long or too large a number)"
    return f"{what} '{shorten(text)}' is not a number"


def unit_price(price: NumberField, total: NumberField, quantity: NumberField) -> NumberField:
    """The unit price as sent, or the line total divided by the quantity when only the total is given."""
    if not price.missing or total.value is None or not quantity.value:
        return price
    try:
        value = (total.value / quantity.value).quantize(Decimal("0.01"))
    except ArithmeticError:  # the quotient has more digits than the decimal context holds
        return NumberField(f"{total.text} / {quantity.text}", None)
    return NumberField(show_decimal(value), value)


def make_line(
    *,
    good_ref: str | None,
    good_id: int | None,
    quantity: NumberField,
    price: NumberField,
    name: str | None = None,
    article: str | None = None,
    missing_ref: str = "the good is not identified",
) -> OrderLine:
    problems = [] if good_ref else [missing_ref]
    problems += quantity_problems(quantity) + price_problems(price)
    return OrderLine(
        good_ref=good_ref or "",
        good_id=good_id,
        quantity=quantity.value,
        price=price.value,
        name=name,
        article=article,
        problems=problems,
    )
