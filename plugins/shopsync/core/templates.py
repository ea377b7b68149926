"""The templates under include/templates/ (Jinja2): one environment per process, HTML autoescaped.

`*.html.j2` templates escape every value (a buyer's name or an order comment is text, never markup);
`*.txt.j2` ones do not. Undefined names fail loudly (StrictUndefined), so a template and its caller
cannot drift apart unnoticed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import jinja2

from shopsync.core.paths import include_dir

NBSP = "\u00a0"


def templates_dir() -> str:
    return str(include_dir() / "templates")


@cache
def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["money"] = money
    environment.filters["quantity"] = quantity_text
    return environment


def render_template(name: str, **values: Any) -> str:
    """include/templates/<name> rendered with `values`."""
    return template_environment().get_template(name).render(values)


CURRENCY_SIGNS = {"UAH": "грн"}


def money(amount: Decimal | int | float | None, currency: str = "UAH") -> str:
    """1500 -> "1 500,00 грн" (Ukrainian: comma decimals, non-breaking spaces between thousands and before
    the currency); another currency by its code: "12,50 USD"."""
    if amount is None:
        return ""
    grouped = f"{Decimal(amount):,.2f}".replace(",", NBSP).replace(".", ",")
    return f"{grouped}{NBSP}{CURRENCY_SIGNS.get(currency.strip(), currency.strip())}"


def quantity_text(quantity: Decimal | int | float) -> str:
    """2.000 -> "2", 1.500 -> "1,5"."""
    return f"{Decimal(quantity).normalize():f}".replace(".", ",")
