"""The accounting workflow after an order landed: reserve, ship, deliver, cancel.

    new --reserve (all lines in full)--> reserved [--ready--> ready] --ship--> shipped --deliver--> delivered
    new | reserved | ready --cancel--> cancelled
(orders/fulfilment/ moves a shipped invoice on to refused and returned.)

Each function runs in the caller's transaction (`with engine.begin() as conn:`) and locks the
invoice row first, so two people moving the same invoice at once are serialised.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa

from shopsync import stock
from shopsync.core.errors import PermanentError
from shopsync.core.sql import sql_statement

CANCELLABLE = ("new", "reserved", "ready")
SHIPPABLE = ("reserved", "ready")


class InvalidTransition(PermanentError):
    """The invoice is not in a status the requested step starts from."""


def reserve(conn: sa.Connection, invoice_id: int, warehouse_ids: Iterable[int]) -> dict[int, Decimal]:
    """Top up the reservations of a 'new' invoice (e.g. after a delivery of goods); 'reserved' once complete.

    Returns what was reserved now per good. Lines without a known good can never be reserved:
    such an invoice stays 'new' until it is cancelled.
    """
    _require(conn, invoice_id, ("new",), "reserved")
    lines = conn.execute(sql_statement("orders/unreserved_lines.sql"), {"invoice_id": invoice_id}).all()
    usable = [line for line in lines if line.good_id is not None and line.quantity > 0]
    missing = [line for line in usable if line.missing > 0]
    got = stock.reserve_lines(conn, invoice_id, [(line.line_no, line.good_id, line.missing) for line in missing],
                              warehouse_ids)
    reserved: dict[int, Decimal] = {}
    for line in missing:
        if got[line.line_no]:
            reserved[line.good_id] = reserved.get(line.good_id, Decimal(0)) + got[line.line_no]
    complete = bool(lines) and len(usable) == len(lines) and all(got[line.line_no] >= line.missing for line in missing)
    if complete:
        _set_status(conn, invoice_id, "reserved")
    return reserved


def ship(
    conn: sa.Connection, invoice_id: int, carrier: str, waybill_number: str | None, cod_amount: Decimal | None = None
) -> int:
    """Goods leave the warehouse: a delivery note with its lines (the line's price, the good's cost price of this
    moment), reservations 'shipped', on-hand stock down; returns the note id. From 'reserved' (by hand) or
    'ready' (the fulfilment pass, after the carrier created the waybill)."""
    if not carrier or not carrier.strip():
        raise PermanentError(f"invoice {invoice_id}: a carrier is needed to ship it")
    _require(conn, invoice_id, SHIPPABLE, "shipped", hint=" (reserve all its goods first)")
    stock.ship_invoice(conn, invoice_id)
    note_id = conn.execute(sql_statement("orders/insert_delivery_note.sql"), {
        "invoice_id": invoice_id, "carrier": carrier.strip(),
        "waybill_number": waybill_number, "cod_amount": cod_amount,
    }).scalar_one()
    conn.execute(sql_statement("orders/insert_delivery_note_lines.sql"),
                 {"delivery_note_id": note_id, "invoice_id": invoice_id})
    _set_status(conn, invoice_id, "shipped")
    return note_id


def deliver(conn: sa.Connection, invoice_id: int, cod_received: bool, cod_pending: bool = False) -> None:
    """The carrier delivered. Cash on delivery received makes the invoice paid; missing, it needs attention.

    `cod_pending`: the carrier pays COD out days after the delivery (the tracking pass records it when it
    does, and flags it only when it is still missing `fulfilment.stuck_days` later), so it is not missing yet.
    """
    invoice = _require(conn, invoice_id, ("shipped",), "delivered")
    conn.execute(sql_statement("orders/deliver_notes.sql"), {"invoice_id": invoice_id, "cod_received": cod_received})
    conn.execute(sql_statement("orders/mark_invoice_delivered.sql"), {
        "invoice_id": invoice_id,
        "cod_received": cod_received,
        "cod_missing": invoice.payment_status == "cod" and not cod_received and not cod_pending,
    })


def cancel(conn: sa.Connection, invoice_id: int, reason: str) -> dict[int, Decimal]:
    """Cancel: reservations released (free stock returns), certificates and bonus given back; returns released."""
    invoice = _require(conn, invoice_id, CANCELLABLE, "cancelled")
    released = stock.release_invoice(conn, invoice_id)
    # Customer row before certificates: the same lock order as apply_order.
    if invoice.customer_id is not None and invoice.bonus_paid > 0:
        conn.execute(
            sql_statement("orders/refund_bonus.sql"),
            {"customer_id": invoice.customer_id, "bonus": invoice.bonus_paid},
        )
    conn.execute(sql_statement("orders/restore_certificates.sql"), {"invoice_id": invoice_id})
    conn.execute(sql_statement("orders/cancel_invoice.sql"), {"invoice_id": invoice_id, "reason": reason})
    return released


def list_invoices(
    conn: sa.Connection, shop_id: str, status: str | None = None, attention: bool = False
) -> list[sa.Row]:
    """A shop's invoices, oldest first, optionally of one status or only those needing attention."""
    return conn.execute(sql_statement("orders/list_invoices.sql"),
                        {"shop_id": shop_id, "status": status, "attention": attention}).all()


def open_conflicts(conn: sa.Connection, shop_id: str) -> list[sa.Row]:
    """A shop's order numbers sent again with other content that no person has resolved yet."""
    return conn.execute(sql_statement("orders/list_open_conflicts.sql"), {"shop_id": shop_id}).all()


def resolve_conflict(conn: sa.Connection, shop_id: str, conflict_id: int, note: str) -> int:
    """Mark a conflict resolved (the person has dealt with the second version); returns its invoice id."""
    invoice_id = conn.execute(sql_statement("orders/resolve_conflict.sql"),
                              {"shop_id": shop_id, "conflict_id": conflict_id, "note": note}).scalar()
    if invoice_id is None:
        raise PermanentError(f"shop {shop_id}: no open conflict {conflict_id}")
    return invoice_id


def _require(
    conn: sa.Connection, invoice_id: int, allowed: tuple[str, ...], target: str, hint: str = ""
) -> sa.Row:
    invoice = conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": invoice_id}).first()
    if invoice is None:
        raise PermanentError(f"invoice {invoice_id} does not exist")
    if invoice.status not in allowed:
        raise InvalidTransition(
            f"invoice {invoice_id} is {invoice.status}; only {_either(allowed)} invoices can be {target}{hint}"
        )
    return invoice


def _either(states: tuple[str, ...]) -> str:
    return " or ".join(states) if len(states) < 3 else f"{', '.join(states[:-1])} or {states[-1]}"


def _set_status(conn: sa.Connection, invoice_id: int, status: str) -> None:
    conn.execute(sql_statement("orders/set_invoice_status.sql"), {"invoice_id": invoice_id, "status": status})
