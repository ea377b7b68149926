"""Apply one order to the accounting database: one order, one transaction.

Order of work inside the transaction (it is also the order locks are taken in, so concurrent
orders cannot deadlock):
1. invoice insert-or-skip on (shop_id, external_number). An order already present is "skipped"
   and nothing else happens: the customer is touched only by the first copy of an order.
2. customer find-or-create (advisory locks on phone / e-mail, then the customer row);
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
- the invoice total is the sum of quantity x ordered price over lines whose quantity and price are
  usable (lines with an unknown good count: the customer ordered them at that price).
- quantities are kept to 0.001 and prices to 0.01 (the column scales); a quantity that is not a
  number or does not fit the column is stored as 0 (quantity is NOT NULL), such a price as NULL;
  the attention reason says what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa

from shopsync import stock
from shopsync.errors import ShopsyncError
from shopsync.orders.customers import CustomerAction, normalise_phone, upsert_customer
from shopsync.orders.model import Order, OrderCustomer, OrderLine
from shopsync.orders.sql import statement

ApplyStatus = Literal["applied", "skipped", "flagged"]
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


@dataclass(slots=True)
class InvoiceLine:
    line_no: int
    order_line: OrderLine
    problems: list[str]                 # any problem: nothing is reserved for the whole order
    good_id: int | None = None
    good_name: str | None = None
    db_price: Decimal | None = None

    @property
    def quantity(self) -> Decimal:
        """The quantity as stored: 0 when it is not a number or cannot be stored."""
        return _storable(self.order_line.quantity, QUANTITY_STEP, QUANTITY_LIMIT) or Decimal(0)

    @property
    def price(self) -> Decimal | None:
        return _storable(self.order_line.price, PRICE_STEP, PRICE_LIMIT)

    @property
    def label(self) -> str:
        name = self.good_name or self.order_line.name
        return f"line {self.line_no} ({self.order_line.good_ref}{f' «{name}»' if name else ''})"


def apply_order(
    target: sa.Engine | sa.Connection,
    shop_id: str,
    order: Order,
    warehouse_ids: list[int],
    source_file_id: int | None,
    today: date,
    dry_run: bool = False,
    deferred_flush: bool = False,
) -> ApplyResult:
    """Apply one order in one transaction (rolled back when `dry_run`, returning what would happen).

    With an Engine the order gets a connection and a transaction of its own. With a Connection
    already inside a transaction it runs in a savepoint and the caller commits.

    `deferred_flush` commits without waiting for the WAL flush (synchronous_commit off for this
    transaction only): for callers that make the batch durable with one synchronous commit afterwards
    and can replay it if the server crashes before (the ingest: the file leaves the inbox only then).
    """
    if not order.external_number or not order.external_number.strip():
        raise ShopsyncError(f"shop {shop_id}: an order without an order number cannot be applied")
    with _one_transaction(target, dry_run) as conn:
        if deferred_flush and not dry_run:
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        result = _apply(conn, shop_id, order, warehouse_ids, source_file_id, today)
    result.dry_run = dry_run
    return result


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


def _apply(
    conn: sa.Connection, shop_id: str, order: Order, warehouse_ids: list[int], source_file_id: int | None,
    today: date,
) -> ApplyResult:
    number = order.external_number.strip()
    lines = [InvoiceLine(line_no, line, line_problems(line)) for line_no, line in enumerate(order.lines, start=1)]
    total, total_reasons = _total(lines)
    invoice_id = _insert_invoice(conn, shop_id, number, order, source_file_id, total)
    if invoice_id is None:
        existing = conn.execute(statement("find_invoice"), {"shop_id": shop_id, "external_number": number}).scalar()
        return ApplyResult("skipped", existing, number, [f"order {number} is already invoice {existing}"])

    customer_id, customer_action = upsert_customer(conn, order.customer)
    reasons = list(order.warnings) + total_reasons + _customer_reasons(order.customer)
    _resolve_goods(conn, lines, _currency(order))
    _insert_lines(conn, invoice_id, lines)
    reasons += [f"{line.label}: {problem}" for line in lines for problem in line.problems]
    reserved, fully_reserved, reserve_reasons = _reserve(conn, invoice_id, lines, warehouse_ids)
    reasons += reserve_reasons
    reasons += _use_certificates(conn, invoice_id, order.gift_certificates, today)
    bonus_paid, bonus_reasons = _pay_with_bonus(conn, customer_id, order.bonus_pay)
    reasons += bonus_reasons

    conn.execute(statement("finish_invoice"), {
        "invoice_id": invoice_id,
        "customer_id": customer_id,
        "status": "reserved" if fully_reserved else "new",
        "bonus_paid": bonus_paid,
        "needs_attention": bool(reasons),
        "attention_reasons": reasons,
    })
    return ApplyResult(
        "flagged" if reasons else "applied", invoice_id, number, reasons, reserved,
        customer_id, customer_action,
    )


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


def _total(lines: list[InvoiceLine]) -> tuple[Decimal, list[str]]:
    total = sum((line.quantity * line.price for line in lines if not line.problems), Decimal(0))
    if total >= PRICE_LIMIT:
        return Decimal(0), [f"order total {_number(total)} is too large to store: saved as 0"]
    return total, []


def _currency(order: Order) -> str:
    return (order.currency or "UAH").strip().upper()


def _insert_invoice(
    conn: sa.Connection, shop_id: str, number: str, order: Order, source_file_id: int | None, total: Decimal
) -> int | None:
    return conn.execute(statement("insert_invoice"), {
        "shop_id": shop_id,
        "external_number": number,
        "payment_status": order.payment_status,
        "payment_method": order.payment_method,
        "delivery_method": order.delivery_method,
        "delivery_city": order.delivery_city,
        "delivery_branch": order.delivery_branch,
        "delivery_address": order.delivery_address,
        "comment": order.comment,
        "order_date": order.order_date,
        "reserve_until": order.reserve_until,
        "currency": _currency(order),
        "total": total,
        "source_file_id": source_file_id,
    }).scalar()


def _customer_reasons(customer: OrderCustomer) -> list[str]:
    reasons = [
        f"customer phone «{raw}» is not a valid phone number"
        for raw in customer.phones if raw and raw.strip() and normalise_phone(raw) is None
    ]
    if not any(normalise_phone(raw) for raw in customer.phones) and not (customer.email or "").strip():
        reasons.append("customer has no phone or e-mail: a new customer record was created, check for duplicates")
    return reasons


def _resolve_goods(conn: sa.Connection, lines: list[InvoiceLine], currency: str) -> None:
    """Find each line's good: by our good id when it exists, else by article / barcode."""
    numbered = [line.order_line.good_id for line in lines if line.order_line.good_id is not None]
    by_id = {row.id: row.name for row in conn.execute(statement("goods_by_id"), {"good_ids": numbered})}
    refs = sorted({ref for line in lines for ref in _refs(line.order_line)})
    by_ref = conn.execute(statement("goods_by_ref"), {"refs": refs}).all() if refs else []
    for line in lines:
        if line.order_line.good_id in by_id:
            line.good_id, line.good_name = line.order_line.good_id, by_id[line.order_line.good_id]
        else:
            _match_by_ref(line, by_ref)
    prices = conn.execute(statement("retail_prices"), {
        "good_ids": [line.good_id for line in lines if line.good_id is not None], "currency": currency,
    })
    retail = {row.good_id: row.price for row in prices}
    for line in lines:
        line.db_price = retail.get(line.good_id)


def _refs(line: OrderLine) -> list[str]:
    return [ref.strip() for ref in (line.article, line.good_ref) if ref and ref.strip()]


def _match_by_ref(line: InvoiceLine, candidates: list[sa.Row]) -> None:
    for ref in _refs(line.order_line):
        matches = {row.id: row.name for row in candidates if ref in (row.article, row.barcode)}
        if len(matches) == 1:
            line.good_id, line.good_name = next(iter(matches.items()))
            return
        if len(matches) > 1:
            line.problems.append(f"«{ref}» matches several goods ({', '.join(map(str, sorted(matches)))})")
            return
    line.problems.append("unknown good: no good with this id, article or barcode in the accounting database")


def _insert_lines(conn: sa.Connection, invoice_id: int, lines: list[InvoiceLine]) -> None:
    if not lines:
        return
    conn.execute(statement("insert_invoice_line"), [
        {
            "invoice_id": invoice_id,
            "line_no": line.line_no,
            "good_id": line.good_id,
            "external_ref": line.order_line.good_ref,
            "name": line.order_line.name or line.good_name,
            "quantity": line.quantity,
            "ordered_price": line.price,
            "db_price": line.db_price,
        }
        for line in lines
    ])


def _reserve(
    conn: sa.Connection, invoice_id: int, lines: list[InvoiceLine], warehouse_ids: list[int]
) -> tuple[dict[int, Decimal], bool, list[str]]:
    """Reserve every line, or nothing when a line has problems; returns (reserved per good, all in full, reasons)."""
    if not lines:
        return {}, False, ["the order has no lines"]
    if any(line.problems for line in lines):
        return {}, False, ["nothing reserved: the order has lines that need attention"]
    got = stock.reserve_lines(conn, invoice_id, [(line.line_no, line.good_id, line.quantity) for line in lines],
                              warehouse_ids)
    reserved: dict[int, Decimal] = {}
    reasons = []
    for line in lines:
        if got[line.line_no]:
            reserved[line.good_id] = reserved.get(line.good_id, Decimal(0)) + got[line.line_no]
        if got[line.line_no] < line.quantity:
            reasons.append(_shortage(line, line.quantity, got[line.line_no]))
    return reserved, not reasons, reasons


def _shortage(line: InvoiceLine, wanted: Decimal, got: Decimal) -> str:
    good = f"good {line.good_id} «{line.good_name}»"
    if not got:
        return f"{good}: ordered {_number(wanted)}, none free — nothing reserved"
    return f"{good}: ordered {_number(wanted)}, only {_number(got)} free — reserved {_number(got)}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _use_certificates(conn: sa.Connection, invoice_id: int, barcodes: list[str], today: date) -> list[str]:
    reasons = []
    for barcode in sorted({code.strip() for code in barcodes if code and code.strip()}):
        used = conn.execute(statement("use_certificate"), {
            "invoice_id": invoice_id, "barcode": barcode, "today": today,
        }).first()
        if used is None:
            reasons.append(_certificate_refusal(conn, barcode))
    return reasons


def _certificate_refusal(conn: sa.Connection, barcode: str) -> str:
    found = conn.execute(statement("find_certificate"), {"barcode": barcode}).first()
    if found is None:
        return f"gift certificate {barcode} does not exist"
    if found.status == "used":
        used_by = f" (invoice {found.used_invoice_id})" if found.used_invoice_id else ""
        return f"gift certificate {barcode} was already used{used_by}"
    if found.status == "blocked":
        return f"gift certificate {barcode} is blocked"
    return f"gift certificate {barcode} expired on {found.valid_until.isoformat()}"


def _pay_with_bonus(conn: sa.Connection, customer_id: int, bonus: Decimal) -> tuple[Decimal, list[str]]:
    """Deduct the bonus payment from the customer's balance, never below zero; returns (deducted, reasons)."""
    if bonus is None or bonus == 0:
        return Decimal(0), []
    if bonus < 0:
        return Decimal(0), [f"bonus payment must not be negative, got {_number(bonus)}: ignored"]
    row = conn.execute(statement("deduct_bonus"), {"customer_id": customer_id, "bonus": bonus}).one()
    if row.had < bonus:
        return row.deducted, [
            f"bonus payment {_number(bonus)} but the customer had only {_number(row.had)} — deducted "
            f"{_number(row.deducted)}"
        ]
    return row.deducted, []
