"""Apply one order to the accounting database: one order, one transaction, one round trip.

Python parses, validates and normalises the order (`order_document`: phones in E.164, e-mail
lower-case, quantities and prices as the columns store them, the problems it can see without the
database) and the database applies it in one call of the PL/pgSQL function `shopsync_apply_order(jsonb)`
(include/sql/schema/005_apply_order_function.sql), which returns what happened.

Order of work inside the transaction (it is also the order locks are taken in, so concurrent
orders cannot deadlock):
1. invoice insert-or-skip on (shop_id, external_number). An order already present is "skipped"
   when its content digest (shopsync.orders.content) is the one stored with the invoice, a "conflict"
   (recorded in order_conflicts, the invoice flagged, nothing else changed) when it differs; either way the
   customer is touched only by the first copy of an order.
2. customer find-or-create (advisory locks on phone / e-mail, then the customer row); a customer is
   matched only when the names agree (shopsync_names_agree, docs/decisions.md);
3. invoice lines;
4. reservations: the stock rows of all goods locked in (good_id, warehouse_id) order, then each
   line reserved from the shop's warehouses, warehouse id ascending;
5. gift certificates (barcode order), bonus payment (the customer row, already held).

Rules:
- status is 'reserved' when every line is fully reserved, otherwise it stays 'new';
  needs_attention is separate and says that a person must look at the invoice.
- a line the database cannot use (unknown good, quantity not a positive number, bad price)
  flags the order and nothing at all is reserved for it: a half-reserved order that may have
  to be rewritten would hold stock other customers could buy.
- not enough free stock: the line reserves what there is, the order is flagged.
- flagged but reserved as usual (`OrderChecks`, the shop's `order_checks`): a withdrawn or hidden good, a
  price below `min_price_share` of the accounting price, a fractional quantity of a piece good.
- one order for more than `max_free_stock_share` of a good's free stock (and more than
  `share_min_quantity` units) is flagged before it reserves and reserves none of that good.
- the invoice total is the sum of quantity x ordered price over lines whose quantity and price are
  usable (lines with an unknown good count: the customer ordered them at that price).
- quantities are kept to 0.001 and prices to 0.01 (the column scales); a quantity that is not a
  number or does not fit the column is stored as 0 (quantity is NOT NULL), such a price as NULL;
  the attention reason says what was sent.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import psycopg
import sqlalchemy as sa

from shopsync.core.config import OrderChecks
from shopsync.core.errors import ShopsyncError
from shopsync.core.sql import sql_statement
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.orders.content import content_digest, order_content
from shopsync.orders.customers import CustomerAction, customer_document, typed_phones
from shopsync.orders.model import Order, OrderCustomer, OrderLine
from shopsync.orders.pipeline import apply_documents, pipeline_connection

ApplyStatus = Literal["applied", "skipped", "flagged", "conflict"]
# The column types bound what can be stored: quantity numeric(14, 3), prices and total numeric(14, 2).
QUANTITY_STEP, QUANTITY_LIMIT = Decimal("0.001"), Decimal("1e11")
PRICE_STEP, PRICE_LIMIT = Decimal("0.01"), Decimal("1e12")


@dataclass(slots=True)
class ApplyResult:
    status: ApplyStatus
    invoice_id: int | None
    external_number: str
    reasons: list[str] = field(default_factory=list)
    reserved: dict[int, Decimal] = field(default_factory=dict)   # good_id -> quantity reserved now
    customer_id: int | None = None
    customer_action: CustomerAction | None = None
    dry_run: bool = False
    conflict_id: int | None = None      # status "conflict": the order_conflicts row of this version


def apply_order(
    target: sa.Engine | sa.Connection,
    shop_id: str,
    order: Order,
    warehouse_ids: list[int],
    source_file_id: int | None,
    today: date,
    dry_run: bool = False,
    checks: OrderChecks | None = None,
) -> ApplyResult:
    """Apply one order in one transaction (rolled back when `dry_run`, returning what would happen).

    With an Engine the order gets a connection and a transaction of its own. With a Connection already
    inside a transaction it runs in a savepoint and the caller commits. Many orders at once: apply_orders.
    """
    document = order_document(shop_id, order, warehouse_ids, source_file_id, today, checks)
    with _one_transaction(target, dry_run) as conn:
        answer = conn.execute(
            sql_statement("orders/apply_order.sql"), {"document": json.dumps(document, ensure_ascii=False)}
        )
        return _result(document["external_number"], json.loads(answer.scalar_one()), dry_run)


def apply_orders(
    engine: sa.Engine,
    shop_id: str,
    orders: Iterable[Order],
    warehouse_ids: list[int],
    source_file_id: int | None,
    today: date,
    checks: OrderChecks | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> Iterator[ApplyResult | psycopg.Error]:
    """Apply many orders, each in a transaction of its own, without a round trip per order (pipeline mode,
    see shopsync.orders.pipeline); yields, in order, each one's result or the error the database refused
    it with (that order is not applied, the others are). At most tuning.orders_in_flight orders are unanswered.

    The orders commit with synchronous_commit off: the caller makes them durable with one synchronous
    commit afterwards (see pipeline.pipeline_connection).
    """
    numbers: deque[str] = deque()

    def documents() -> Iterator[dict[str, Any]]:
        for order in orders:
            document = order_document(shop_id, order, warehouse_ids, source_file_id, today, checks)
            numbers.append(document["external_number"])
            yield document

    with pipeline_connection(engine) as conn:
        for answer in apply_documents(conn, documents(), in_flight=tuning.orders_in_flight):
            number = numbers.popleft()
            yield answer if isinstance(answer, psycopg.Error) else _result(number, answer, dry_run=False)


def _result(number: str, answer: dict[str, Any], dry_run: bool) -> ApplyResult:
    """shopsync_apply_order's answer as an ApplyResult."""
    return ApplyResult(
        answer["status"], answer["invoice_id"], number, answer["reasons"],
        {good_id: Decimal(quantity) for good_id, quantity in answer["reserved"]},
        answer["customer_id"], answer["customer_action"], dry_run, answer.get("conflict_id"),
    )


@contextmanager
def _one_transaction(target: sa.Engine | sa.Connection, dry_run: bool) -> Iterator[sa.Connection]:
    if isinstance(target, sa.Engine):
        with target.connect() as conn, _one_transaction(conn, dry_run) as inner:
            yield inner
        return
    transaction = target.begin_nested() if target.in_transaction() else target.begin()
    try:
        yield target
    except BaseException:
        if transaction.is_active:
            transaction.rollback()
        raise
    if dry_run:
        transaction.rollback()
    else:
        transaction.commit()


def order_document(
    shop_id: str, order: Order, warehouse_ids: list[int], source_file_id: int | None, today: date,
    checks: OrderChecks | None = None,
) -> dict[str, Any]:
    """The order as shopsync_apply_order takes it: checked and normalised, numbers as decimal strings.

    `reasons` are what Python sees without the database (parser warnings, the total, the customer's
    contacts); the function appends the rest in the order the steps run.
    """
    if not order.external_number or not order.external_number.strip():
        raise ShopsyncError(f"shop {shop_id}: an order without an order number cannot be applied")
    lines = [(line_no, line, line_problems(line)) for line_no, line in enumerate(order.lines, start=1)]
    total, total_reasons = _total(lines)
    phones = typed_phones(order.customer.phones)
    checks = checks or OrderChecks()
    document = {
        "shop_id": shop_id,
        "external_number": order.external_number.strip(),
        "source_file_id": source_file_id,
        "today": today.isoformat(),
        "warehouse_ids": [int(warehouse) for warehouse in warehouse_ids],
        "invoice": {
            "payment_status": order.payment_status,
            "payment_method": order.payment_method,
            "delivery_method": order.delivery_method,
            "delivery_city": order.delivery_city,
            "delivery_branch": order.delivery_branch,
            "delivery_address": order.delivery_address,
            "comment": order.comment,
            "order_date": order.order_date.isoformat() if order.order_date else None,
            "reserve_until": order.reserve_until.isoformat() if order.reserve_until else None,
            "currency": (order.currency or "UAH").strip().upper(),
            "total": _text(total),
            "tracking_number": order.tracking_number,
        },
        "customer": customer_document(order.customer, phones),
        "lines": [_line_document(line_no, line, problems) for line_no, line, problems in lines],
        "gift_certificates": sorted({code.strip() for code in order.gift_certificates if code and code.strip()}),
        "bonus_pay": _text(order.bonus_pay or Decimal(0)),
        "reasons": list(order.warnings) + total_reasons + _customer_reasons(order.customer, phones),
        "checks": {name: _text(value) for name, value in checks.model_dump().items()},
    }
    document["content"] = order_content(document)
    document["content_digest"] = content_digest(document["content"])
    return document


def _line_document(line_no: int, line: OrderLine, problems: list[str]) -> dict[str, Any]:
    price = _storable(line.price, PRICE_STEP, PRICE_LIMIT)
    return {
        "line_no": line_no,
        "good_id": line.good_id,
        # article first, then the shop's reference: the first one that matches any good decides
        "refs": [ref.strip() for ref in (line.article, line.good_ref) if ref and ref.strip()],
        "external_ref": line.good_ref,
        "name": line.name or None,
        "quantity": _text(_stored_quantity(line)),
        "price": None if price is None else _text(price),
        "problems": problems,
    }


def line_problems(line: OrderLine) -> list[str]:
    """What makes a line unusable; the parser's findings when it reported any, else our own checks."""
    if line.problems:
        return list(line.problems)
    problems = []
    quantity, price = line.quantity, line.price
    if quantity is None:
        problems.append("quantity is not a number")
    elif not quantity.is_finite() or quantity <= 0 or _storable(quantity, QUANTITY_STEP, QUANTITY_LIMIT) == 0:
        problems.append(f"quantity must be a positive number, got {quantity}")
    elif quantity >= QUANTITY_LIMIT:
        problems.append(f"quantity {quantity} is too large")
    if price is None:
        problems.append("price is missing or not a number")
    elif not price.is_finite() or price < 0:
        problems.append(f"price must not be negative, got {price}")
    elif price >= PRICE_LIMIT:
        problems.append(f"price {price} is too large")
    return problems


def _storable(value: Decimal | None, step: Decimal, limit: Decimal) -> Decimal | None:
    if value is None or not value.is_finite() or abs(value) >= limit:
        return None
    return value.quantize(step)


def _stored_quantity(line: OrderLine) -> Decimal:
    """The quantity as stored: 0 when it is not a number or cannot be stored."""
    return _storable(line.quantity, QUANTITY_STEP, QUANTITY_LIMIT) or Decimal(0)


def _total(lines: list[tuple[int, OrderLine, list[str]]]) -> tuple[Decimal, list[str]]:
    total = sum((_stored_quantity(line) * _storable(line.price, PRICE_STEP, PRICE_LIMIT)
                 for _, line, problems in lines if not problems), Decimal(0))
    if total >= PRICE_LIMIT:
        return Decimal(0), [f"order total {_number(total)} is too large to store: saved as 0"]
    return total, []


def _customer_reasons(customer: OrderCustomer, phones: list[tuple[str, str | None]]) -> list[str]:
    reasons = [
        f"customer phone «{raw}» is not a valid phone number"
        for raw, phone in phones if raw and raw.strip() and phone is None
    ]
    if not any(phone for _, phone in phones) and not (customer.email or "").strip():
        reasons.append("customer has no phone or e-mail: a new customer record was created, check for duplicates")
    return reasons


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _text(value: Decimal) -> str:
    """A decimal as JSON text for the database: exact, never an exponent."""
    return format(value, "f")
