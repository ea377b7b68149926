"""Shipping a shop's ready invoices: a waybill at the carrier for each, and the sale recorded with it.

    request_shipment(conn, shop, invoice_id, ...)   `shopsync ship`: reserved|ready -> ready + shipment 'requested'
    ship_ready(engine, shop, open_carrier, today)   the pass: every ready invoice's waybill, exactly once
    cancel_invoice(engine, shop, invoice_id, reason) `shopsync cancel`: before a waybill exists only
    record_prepayment(conn, invoice_id, amount, reference)  `shopsync pay`: paid once prepayments cover the total

Per invoice in the pass: an 'unpaid' invoice waits for its prepayment; the recipient comes from the customer and
the local carrier directory (an address it cannot resolve fails the shipment and flags the invoice, nothing is
sent); cash on delivery is the total less the prepayments for a 'cod' invoice, none for a 'paid' one; then
waybills.py creates the document exactly once. A carrier that refuses fails that shipment only; one that does
not answer leaves it 'creating' and fails the run retryably after every other invoice was done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.carriers.base import Carrier, Parcel, WaybillRequest, carrier_title
from shopsync.carriers.connect import open_carrier as default_open_carrier
from shopsync.carriers.directory import Unresolved
from shopsync.channels.base import KYIV
from shopsync.core.config import ShopSettings
from shopsync.core.errors import ConfigError, PermanentError
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.core.sql import sql_statement
from shopsync.orders import workflow
from shopsync.orders.fulfilment import recipient, waybills
from shopsync.orders.fulfilment.waybills import SINGLE_ATTEMPT, Claimed
from shopsync.transport.api_client import RemoteError
from shopsync.transport.base import RetryPolicy

log = logging.getLogger(__name__)

OpenCarrier = Callable[[CarrierSettings, RetryPolicy | None], Carrier]
CANCEL_WAIT_SECONDS = 30.0


@dataclass
class ShipSummary:
    shop_id: str
    shipped: list[tuple[str, str]] = field(default_factory=list)        # (order number, waybill) created now
    failed: list[tuple[str, str]] = field(default_factory=list)         # (order number, reason): flagged
    waiting_for_payment: list[str] = field(default_factory=list)        # unpaid: shipped after a prepayment
    recognised: list[tuple[str, str]] = field(default_factory=list)     # found at the carrier after a cut-off run
    pending: list[tuple[str, str]] = field(default_factory=list)        # the carrier did not answer: next run

    def as_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"shop {self.shop_id}: {len(self.shipped)} shipped, {len(self.recognised)} found at the carrier "
                f"after a cut-off run, {len(self.failed)} failed (flagged), {len(self.waiting_for_payment)} waiting "
                f"for a prepayment, {len(self.pending)} left for the next run (the carrier did not answer)")

    def details(self) -> list[str]:
        """One line per invoice, for a person."""
        return ([f"  {number}: waybill {waybill}" for number, waybill in self.shipped]
                + [f"  {number}: waybill {waybill} (found at the carrier)" for number, waybill in self.recognised]
                + [f"  {number}: failed: {reason}" for number, reason in self.failed]
                + [f"  {number}: waiting for a prepayment" for number in self.waiting_for_payment]
                + [f"  {number}: not finished: {error}" for number, error in self.pending])


class ShippingIncomplete(RemoteError):
    """A carrier did not answer for some shipments (they stay 'creating'): the run fails retryably at its end."""

    def __init__(self, summary: ShipSummary) -> None:
        super().__init__(f"{summary.line()}; " + "; ".join(f"{n}: {e}" for n, e in summary.pending))
        self.summary = summary


@dataclass(frozen=True)
class PaymentResult:
    recorded: bool                   # False: this reference was recorded before
    prepaid: Decimal
    total: Decimal
    payment_status: str


# -- shopsync ship -----------------------------------------------------------------------------------------------

def find_invoice(conn: sa.Connection, shop_id: str, number: str | None = None, invoice_id: int | None = None) -> int:
    """Our id of an invoice of this shop, by its order number (e.g. PROM-123) or by our id."""
    row = conn.execute(sql_statement("fulfilment/invoice_of_shop.sql"),
                       {"shop_id": shop_id, "number": number, "invoice_id": invoice_id}).first()
    if row is None:
        what = f"order number {number!r}" if number is not None else f"id {invoice_id}"
        raise PermanentError(f"shop {shop_id!r} has no invoice with {what}")
    return row.id


def request_shipment(conn: sa.Connection, shop: ShopSettings, invoice_id: int, carrier_kind: str | None = None,
                     weight_kg: Decimal | None = None, seats: int | None = None) -> int:
    """The invoice (reserved or ready) becomes 'ready' with a 'requested' shipment; returns the shipment id.

    Asked again: a requested shipment takes the new carrier and parcel; a failed one (nothing at the carrier) is
    replaced by a new one (a new client key) and the flags of the failure go."""
    settings = shop.carrier(carrier_kind)
    find_invoice(conn, shop.id, invoice_id=invoice_id)
    invoice = conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": invoice_id}).one()
    if invoice.status not in workflow.SHIPPABLE:
        raise workflow.InvalidTransition(f"invoice {invoice_id} is {invoice.status}; only reserved or ready invoices "
                                         "can be shipped (reserve all its goods first)")
    parcel = {"carrier": settings.kind, "weight_kg": weight_kg or settings.parcel.weight_kg,
              "seats": seats or settings.parcel.seats}
    live = conn.execute(sql_statement("fulfilment/live_shipment.sql"), {"invoice_id": invoice_id}).first()
    conn.execute(sql_statement("fulfilment/mark_invoice_ready.sql"), {"invoice_id": invoice_id})
    conn.execute(sql_statement("fulfilment/clear_shipping_flags.sql"), {"invoice_id": invoice_id})
    if live is not None and live.state == "requested":
        conn.execute(sql_statement("fulfilment/change_request.sql"), {"shipment_id": live.id, **parcel})
        return live.id
    if live is not None:
        if live.state != "failed" or live.waybill_number is not None:
            raise PermanentError(_why_not_again(invoice_id, live))
        conn.execute(sql_statement("fulfilment/cancel_shipment.sql"),
                     {"shipment_id": live.id, "reason": f"asked again after: {live.last_error}"})
    return conn.execute(sql_statement("fulfilment/insert_shipments.sql"),
                        {"shop_id": shop.id, "invoice_id": invoice_id, **parcel}).scalar_one()


def _why_not_again(invoice_id: int, live: sa.Row) -> str:
    if live.waybill_number is not None:
        return (f"invoice {invoice_id}: waybill {live.waybill_number} exists at the carrier for its shipment "
                f"{live.id} ({live.state}); delete it there or ship by hand")
    return f"invoice {invoice_id} already has shipment {live.id} being {live.state}; the shipping pass finishes it"


# -- the pass ----------------------------------------------------------------------------------------------------

def ship_ready(engine: Engine, shop: ShopSettings, open_carrier: OpenCarrier = default_open_carrier,
               today: date | None = None) -> ShipSummary:
    """One shipping pass over the shop's ready invoices (module docstring). Raises ShippingIncomplete (retryable)
    at the end when a carrier did not answer for some; ShippingBusy when another pass of the shop runs."""
    summary = ShipSummary(shop.id)
    if not shop.carriers:
        log.info("shop %s: no carrier in its settings; nothing to ship", shop.id)
        return summary
    ship_date = today or datetime.now(KYIV).date()
    carriers: dict[str, Carrier] = {}

    def carrier_of(kind: str) -> Carrier:
        if kind not in carriers:
            carriers[kind] = open_carrier(shop.carrier(kind), SINGLE_ATTEMPT)
        return carriers[kind]

    with waybills.shipping_lock(engine, shop.id):
        default = shop.carrier()
        with engine.begin() as conn:
            conn.execute(sql_statement("fulfilment/insert_shipments.sql"), {
                "shop_id": shop.id, "invoice_id": None, "carrier": default.kind,
                "weight_kg": default.parcel.weight_kg, "seats": default.parcel.seats})
            ids = conn.execute(sql_statement("fulfilment/open_shipments.sql"), {"shop_id": shop.id}).scalars().all()
        for shipment_id in ids:
            _ship_one(engine, shop, shipment_id, carrier_of, ship_date, summary)
    log.info("%s", summary.line())
    if summary.pending:
        raise ShippingIncomplete(summary)
    return summary


def _ship_one(engine: Engine, shop: ShopSettings, shipment_id: int, carrier_of: Callable[[str], Carrier],
              ship_date: date, summary: ShipSummary) -> None:
    with engine.begin() as conn:
        shipment = waybills.claim(conn, shipment_id)
        if shipment is None:
            return                                  # another session holds it or it moved on
        look_first = shipment.state == "creating"
        if not look_first and shipment.invoice_status != "ready":
            return                                  # changed since it was listed
        if not look_first:
            planned = _plan(conn, shop, shipment, ship_date)
            if planned == "unpaid":
                summary.waiting_for_payment.append(shipment.number)
                return
            if isinstance(planned, Unresolved):
                waybills.fail_in(conn, shipment, planned.reason)
                summary.failed.append((shipment.number, planned.reason))
                return
            shipment = waybills.mark_intent(conn, shipment, planned)
    # the intent is committed: whatever happens from here, the next run looks at the carrier first
    try:
        outcome = waybills.create_once(engine, carrier_of(shipment.carrier), shipment, look_first, ship_date)
    except RemoteError as error:
        waybills.note_error(engine, shipment.id, str(error))
        summary.pending.append((shipment.number, str(error)))
        return
    if outcome.kind == "failed":
        summary.failed.append((shipment.number, outcome.reason or ""))
    else:
        assert outcome.waybill is not None
        target = summary.recognised if outcome.kind == "recognised" else summary.shipped
        target.append((shipment.number, outcome.waybill.number))


def _plan(conn: sa.Connection, shop: ShopSettings, shipment: Claimed,
          ship_date: date) -> WaybillRequest | Unresolved | str:
    """The request for a requested shipment, "unpaid" (it waits), or why it cannot be made."""
    try:
        settings = shop.carrier(shipment.carrier)
    except ConfigError as error:
        return Unresolved(str(error))
    facts = recipient.invoice_facts(conn, shipment.invoice_id)
    if facts.payment_status == "unpaid":
        return "unpaid"
    short = _unreserved(conn, shipment.invoice_id)
    if short:
        return Unresolved(f"not every line is reserved ({short}); reserve the goods, then `shopsync ship` again")
    buyer = recipient.build_recipient(conn, shipment.carrier, facts)
    if isinstance(buyer, Unresolved):
        return buyer
    cod = recipient.cod_amount(facts)
    defaults = settings.parcel
    parcel = Parcel(weight_kg=shipment.weight_kg or defaults.weight_kg, seats=shipment.seats or defaults.seats,
                    length_cm=defaults.length_cm, width_cm=defaults.width_cm, height_cm=defaults.height_cm,
                    declared_value=recipient.declared_value(settings, facts, cod), description=defaults.description)
    return WaybillRequest(client_key=shipment.client_key, ship_date=ship_date, recipient=buyer, parcel=parcel,
                          service_type=settings.service, payer=settings.payer, cod_amount=cod,
                          cod_form=settings.cod_form, cod_fallback=settings.cod_fallback)


def _unreserved(conn: sa.Connection, invoice_id: int) -> str:
    """Lines an invoice set 'ready' by the accounting program still misses (shipping them would ship less)."""
    lines = conn.execute(sql_statement("orders/unreserved_lines.sql"), {"invoice_id": invoice_id}).all()
    short = [line for line in lines if line.good_id is None or line.missing > 0]
    return ", ".join(f"line {line.line_no} {line.name or ''}".strip() for line in short)


# -- shopsync cancel ---------------------------------------------------------------------------------------------

def cancel_invoice(engine: Engine, shop: ShopSettings, invoice_id: int, reason: str,
                   open_carrier: OpenCarrier = default_open_carrier,
                   wait_seconds: float = CANCEL_WAIT_SECONDS) -> dict[int, Decimal]:
    """Cancel a reserved or ready invoice and its shipment; returns the released quantities per good.

    Under the shop's shipping lock, so no pass is between its intent and its record. A shipment found 'creating'
    (a run was cut off) is looked up at the carrier first: when the document exists the invoice is shipped
    (recorded as the pass would) and the cancellation is refused."""
    with waybills.shipping_lock(engine, shop.id, wait_seconds):
        with engine.connect() as conn:
            find_invoice(conn, shop.id, invoice_id=invoice_id)
            live = conn.execute(sql_statement("fulfilment/live_shipment.sql"), {"invoice_id": invoice_id}).first()
            conn.rollback()
        if live is not None and live.state == "creating":
            _refuse_if_created(engine, shop, live, open_carrier)
        with engine.begin() as conn:
            conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": invoice_id})   # before the shipment
            if live is not None:
                conn.execute(sql_statement("fulfilment/cancel_shipment.sql"),
                             {"shipment_id": live.id, "reason": f"invoice cancelled: {reason}"})
            return workflow.cancel(conn, invoice_id, reason)


def _refuse_if_created(engine: Engine, shop: ShopSettings, live: sa.Row, open_carrier: OpenCarrier) -> None:
    with engine.begin() as conn:
        shipment = waybills.claim(conn, live.id)
    if shipment is None or shipment.ship_date is None:
        return
    carrier = open_carrier(shop.carrier(shipment.carrier), SINGLE_ATTEMPT)
    found = carrier.find_waybill(shipment.client_key, shipment.ship_date)
    if found is None:
        return
    waybills.record(engine, shipment, found, recognised=True)
    raise workflow.InvalidTransition(
        f"invoice {shipment.invoice_id} is shipped: waybill {found.number} exists at "
        f"{carrier_title(shipment.carrier)} (created by a run that was cut off); it cannot be cancelled")


# -- shopsync pay ------------------------------------------------------------------------------------------------

def record_prepayment(conn: sa.Connection, invoice_id: int, amount: Decimal, reference: str) -> PaymentResult:
    """A prepayment the accounting side received (once per reference); the invoice is 'paid' once prepayments cover
    its total, else a 'cod' invoice's cash on delivery shrinks by it."""
    if amount <= 0:
        raise PermanentError(f"invoice {invoice_id}: a payment must be more than 0 (got {amount})")
    if not reference.strip():
        raise PermanentError(f"invoice {invoice_id}: a payment needs a reference (the bank transfer's id)")
    invoice = conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": invoice_id}).first()
    if invoice is None:
        raise PermanentError(f"invoice {invoice_id} does not exist")
    if invoice.status == "cancelled":
        raise workflow.InvalidTransition(f"invoice {invoice_id} is cancelled; a payment for it is refunded, "
                                         "not recorded")
    recorded = conn.execute(sql_statement("fulfilment/insert_payment.sql"), {
        "invoice_id": invoice_id, "kind": "prepayment", "amount": amount, "reference": reference.strip(),
    }).first() is not None
    facts = recipient.invoice_facts(conn, invoice_id)
    status = facts.payment_status
    if facts.prepaid >= facts.total and status != "paid":
        conn.execute(sql_statement("fulfilment/mark_invoice_paid.sql"), {"invoice_id": invoice_id})
        status = "paid"
    return PaymentResult(recorded=recorded, prepaid=facts.prepaid, total=facts.total, payment_status=status)
