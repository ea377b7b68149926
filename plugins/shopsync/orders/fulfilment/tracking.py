"""Tracking: where each shipped parcel is, and what that means for its invoice.

One pass (`track_open`: `shopsync track`, the fulfilment run's step) asks each carrier about every open shipment
of a shop, in batches of `fulfilment.track_batch` parcels with the recipient's phone (Nova Poshta answers in
full only with it), and then, for each shipment in a transaction of its own:
  - stores every carrier status once in shipment_status_history with our delivery state; a code no map knows
    is stored with the state NULL and flags the invoice once: it never stops the run;
  - applies the newest state: delivered -> invoice delivered (COD may follow days later); cod_paid -> one
    'cod' payment (reference = the waybill), invoice paid; refused -> invoice refused, and the carrier's return
    document is tracked from then on; returned -> goods back on hand, invoice returned.
The invoice row is locked first (as every workflow step does) and each step checks the invoice's status, so a
second pass, or a person's `shopsync return` meanwhile, never applies anything twice.
After the pass: shipments with no status change for `fulfilment.stuck_days` are listed (not flagged), and COD
still not paid that long after delivery is flagged once.
A batch the carrier did not answer loses nothing the other batches gave: the pass finishes, then raises
TrackingIncomplete (retryable), whose `summary` says what was done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync import stock
from shopsync.carriers.base import Carrier, TrackedParcel, TrackingStatus
from shopsync.carriers.connect import open_carrier as default_open_carrier
from shopsync.carriers.statuses import status_map
from shopsync.core.config import ShopSettings
from shopsync.core.errors import PermanentError, ShopsyncError
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.core.sql import sql_statement
from shopsync.orders import workflow
from shopsync.transport.api_client import RemoteError, RemoteRejected

log = logging.getLogger(__name__)

OpenCarrier = Callable[[CarrierSettings], Carrier]

FINAL_STATES = ("cod_paid", "returned", "deleted")
# The return document's own states in terms of the shipment: it reaching the sender is the goods being back.
RETURN_DOCUMENT_STATES = {"delivered": "returned", "cod_paid": "returned", "returned": "returned",
                          "lost": "lost", "deleted": "lost"}
COD_LATE_REASON = "cash on delivery not received"    # the reason workflow.deliver used to add at delivery


@dataclass
class TrackSummary:
    shop_id: str
    tracked: int = 0                                   # shipments the carrier answered for
    changed: int = 0                                   # of them, with a new status, state or return document
    delivered: int = 0
    cod_paid: list[tuple[str, Decimal]] = field(default_factory=list)       # (invoice number, amount)
    refused: int = 0
    returned: int = 0
    unknown_codes: list[tuple[str, str]] = field(default_factory=list)      # (waybill, code), newly seen
    stuck: list[tuple[str, str, int]] = field(default_factory=list)         # (invoice number, waybill, days)
    cod_late: list[tuple[str, str, int]] = field(default_factory=list)      # flagged now: (number, waybill, days)
    cod_outstanding: Decimal = Decimal(0)              # COD of delivered parcels not yet paid out
    errors: list[str] = field(default_factory=list)    # batches the carrier did not answer

    def as_json(self) -> dict:
        data = asdict(self)
        data["cod_paid"] = [[number, str(amount)] for number, amount in self.cod_paid]
        data["cod_outstanding"] = str(self.cod_outstanding)
        for key in ("unknown_codes", "stuck", "cod_late"):
            data[key] = [list(item) for item in data[key]]
        return data

    def line(self) -> str:
        paid = sum((amount for _, amount in self.cod_paid), Decimal(0))
        text = (f"tracking: {self.tracked} shipment(s) tracked, {self.changed} changed, {self.delivered} delivered, "
                f"{len(self.cod_paid)} COD paid ({paid}), {self.refused} refused, {self.returned} returned, "
                f"{len(self.unknown_codes)} unknown status(es), {len(self.stuck)} stuck, "
                f"COD outstanding {self.cod_outstanding}")
        return text + (f"; {len(self.errors)} batch(es) not tracked" if self.errors else "")

    def details(self) -> list[str]:
        """What a person may need to act on, one line each."""
        return ([f"  stuck: invoice {number} waybill {waybill}: no status change for {days} day(s)"
                 for number, waybill, days in self.stuck]
                + [f"  COD late: invoice {number} waybill {waybill}: delivered {days} day(s) ago, not paid out"
                   for number, waybill, days in self.cod_late]
                + [f"  unknown status: waybill {waybill} code {code} (flagged)" for waybill, code in self.unknown_codes]
                + [f"  not tracked: {error}" for error in self.errors])


class TrackingIncomplete(RemoteError):
    """A carrier did not answer for some batches; what the others gave is recorded. The next run tries again."""

    def __init__(self, message: str, summary: TrackSummary) -> None:
        super().__init__(message)
        self.summary = summary


class TrackingRefused(RemoteRejected):
    """A carrier refused a tracking request as such: repeating it cannot help, a person must look."""

    def __init__(self, message: str, summary: TrackSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class _Pass:
    """One carrier's part of a pass: what each shipment's step needs besides the shipment."""
    kind: str
    codes: dict[str, str]
    stuck_days: int
    now: datetime
    summary: TrackSummary


def track_open(engine: Engine, shop: ShopSettings, open_carrier: OpenCarrier = default_open_carrier,
               now: datetime | None = None) -> TrackSummary:
    """One tracking pass over a shop's open shipments (see the module's docstring)."""
    moment = now or datetime.now(UTC)
    summary = TrackSummary(shop.id)
    with engine.connect() as conn:
        rows = conn.execute(sql_statement("fulfilment/track_open_shipments.sql"), {"shop_id": shop.id}).all()
    failures: list[ShopsyncError] = []
    for kind, group in groupby(rows, key=lambda row: row.carrier):
        try:
            settings = shop.carrier(kind)
            carrier = open_carrier(settings)
        except ShopsyncError as exc:          # the shop's file no longer names it, its Connection is missing ...
            failures.append(exc)
            summary.errors.append(f"{kind}: {exc}")
            continue
        step = _Pass(kind, status_map(kind, settings.status_map), shop.fulfilment.stuck_days, moment, summary)
        failures += _track_carrier(engine, carrier, settings, step, list(group), shop.fulfilment.track_batch)
    _after_pass(engine, shop, moment, summary)
    log.info("shop %s: %s", shop.id, summary.line())
    _raise_for(failures, summary)
    return summary


def record_return(engine: Engine, shop: ShopSettings, invoice_id: int) -> dict[int, Decimal]:
    """`shopsync return`: a person confirms the goods came back: stock back on hand, delivery note and invoice
    returned, the shipment no longer tracked. Returns the quantity put back per good."""
    with engine.begin() as conn:
        invoice = conn.execute(sql_statement("fulfilment/return_lock_invoice.sql"), {"invoice_id": invoice_id}).first()
        if invoice is None or invoice.shop_id != shop.id:
            raise PermanentError(f"shop {shop.id} has no invoice {invoice_id}")
        if invoice.status not in ("shipped", "refused"):
            raise workflow.InvalidTransition(
                f"invoice {invoice_id} is {invoice.status}; only shipped or refused invoices can be returned")
        returned = _return_goods(conn, invoice_id)
        conn.execute(sql_statement("fulfilment/return_shipment.sql"), {"invoice_id": invoice_id})
    return returned


def invoice_of_number(engine: Engine, shop_id: str, number: str) -> int:
    """The internal id of an invoice by the number the shop knows it by (e.g. PROM-123)."""
    with engine.connect() as conn:
        row = conn.execute(sql_statement("orders/invoice_of_number.sql"),
                           {"shop_id": shop_id, "external_number": number}).first()
    if row is None:
        raise PermanentError(f"shop {shop_id} has no invoice {number}")
    return row.id


def returned_places(conn: sa.Connection, invoice_id: int) -> list[tuple[int, int, Decimal]]:
    """(good_id, warehouse_id, quantity) that left the warehouse for the invoice: its delivery_note_lines, or,
    for a note shipped before they were written, its reservations that shipped."""
    for name in ("fulfilment/return_note_lines.sql", "fulfilment/return_reservations.sql"):
        rows = conn.execute(sql_statement(name), {"invoice_id": invoice_id}).all()
        if rows:
            return [(row.good_id, row.warehouse_id, row.quantity) for row in rows]
    return []


def _track_carrier(engine: Engine, carrier: Carrier, settings: CarrierSettings, step: _Pass,
                   rows: list[sa.Row], batch_size: int) -> list[ShopsyncError]:
    """Every batch of one carrier's shipments: asked, then each shipment applied; returns the failed calls."""
    failures: list[ShopsyncError] = []
    for batch in _batches(rows, batch_size):
        parcels = _parcels(batch, settings.sender.phone)
        try:
            statuses = carrier.track(parcels)
        except (RemoteError, RemoteRejected) as exc:
            failures.append(exc)
            step.summary.errors.append(f"{step.kind}: {len(parcels)} parcel(s) from {parcels[0].number}: {exc}")
            continue
        found = _newest_by_number(statuses)
        for row in batch:
            with engine.begin() as conn:
                _apply(conn, step, row, found)
    return failures


def _batches(rows: Sequence[sa.Row], size: int) -> Iterator[list[sa.Row]]:
    """Batches of at most `size` parcels; a shipment's waybill and its return document stay in one batch."""
    batch: list[sa.Row] = []
    parcels = 0
    for row in rows:
        need = 2 if row.return_waybill else 1
        if batch and parcels + need > size:
            yield batch
            batch, parcels = [], 0
        batch.append(row)
        parcels += need
    if batch:
        yield batch


def _parcels(batch: Iterable[sa.Row], sender_phone: str) -> list[TrackedParcel]:
    """The waybills with the buyer's phone; a return document travels to the sender, so with the sender's."""
    parcels = []
    for row in batch:
        parcels.append(TrackedParcel(row.waybill_number, row.phone))
        if row.return_waybill:
            parcels.append(TrackedParcel(row.return_waybill, sender_phone.lstrip("+")))
    return parcels


def _newest_by_number(statuses: Iterable[TrackingStatus]) -> dict[str, TrackingStatus]:
    found: dict[str, TrackingStatus] = {}
    for status in statuses:
        known = found.get(status.number)
        if known is None or status.at >= known.at:
            found[status.number] = status
    return found


def _apply(conn: sa.Connection, step: _Pass, row: sa.Row, found: dict[str, TrackingStatus]) -> None:
    """One shipment: its statuses stored, its newest state applied to the invoice, the shipment updated."""
    invoice = conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": row.invoice_id}).one()
    shipment = conn.execute(sql_statement("fulfilment/track_lock_shipment.sql"), {"shipment_id": row.id}).one()
    if shipment.delivery_state in FINAL_STATES:
        return                                 # a person recorded the return while the carrier was asked
    original = found.get(shipment.waybill_number)
    return_number = shipment.return_waybill or (original.return_number if original else None)
    back = found.get(return_number) if return_number else None
    if original is None and back is None:
        return
    step.summary.tracked += 1
    original_state = _store(conn, step, shipment, original, return_document=False)
    back_state = _store(conn, step, shipment, back, return_document=True)
    target = _target_state(shipment.delivery_state, original, original_state, back, back_state)
    _move_invoice(conn, step, row, shipment, invoice, target, original or back)
    reporting = back or original
    assert reporting is not None
    changed = (target != shipment.delivery_state or reporting.code != shipment.carrier_status
               or return_number != shipment.return_waybill)
    conn.execute(sql_statement("fulfilment/track_update_shipment.sql"), {
        "shipment_id": shipment.id, "delivery_state": target, "carrier_status": reporting.code,
        "carrier_status_text": reporting.text, "return_waybill": return_number, "tracked_at": step.now,
        "status_changed_at": (reporting.at if reporting.code != shipment.carrier_status
                              else shipment.status_changed_at or reporting.at),
        "changed": changed,
    })
    step.summary.changed += changed


def _store(conn: sa.Connection, step: _Pass, shipment: sa.Row, status: TrackingStatus | None,
           return_document: bool) -> str | None:
    """The status into the history (once); returns our state for it, None for a code no map knows (flagged)."""
    if status is None:
        return None
    mapped = step.codes.get(status.code)
    state = RETURN_DOCUMENT_STATES.get(mapped, "returning") if return_document and mapped else mapped
    stored = conn.execute(sql_statement("fulfilment/track_insert_status.sql"), {
        "shipment_id": shipment.id, "waybill": status.number, "code": status.code, "status_text": status.text,
        "state": state, "status_at": status.at, "raw": json.dumps(status.raw, ensure_ascii=False, default=str),
    }).first() is not None
    if stored and mapped is None:
        _flag(conn, shipment.invoice_id, f"unknown {step.kind} status {status.code} ({status.text})")
        step.summary.unknown_codes.append((status.number, status.code))
    return state


def _target_state(current: str | None, original: TrackingStatus | None, original_state: str | None,
                  back: TrackingStatus | None, back_state: str | None) -> str | None:
    """The shipment's delivery state now: the return document's once there is one (goods coming back), unless
    the original itself says they are back; an unknown code leaves the state as it was."""
    if "returned" in (original_state, back_state):
        return "returned"
    if back is not None:
        return back_state or current
    if current == "returning" and original_state == "delivered":
        # a carrier that brings the goods back on the same document (Ukrposhta): delivered now means to the sender
        return "returned"
    if original is not None and original.cod_paid and original_state in (None, "delivered"):
        return "cod_paid"
    return original_state or current


def _move_invoice(conn: sa.Connection, step: _Pass, row: sa.Row, shipment: sa.Row, invoice: sa.Row,
                  target: str | None, status: TrackingStatus | None) -> None:
    """The invoice steps the state implies, each only from the status it starts from (a pass that saw nothing
    between 'shipped' and 'returned' still refuses before it returns)."""
    current = invoice.status
    cod_expected = bool(shipment.cod_amount and shipment.cod_amount > 0)
    if target in ("delivered", "cod_paid") and current == "shipped":
        workflow.deliver(conn, shipment.invoice_id, cod_received=target == "cod_paid", cod_pending=cod_expected)
        step.summary.delivered += 1
    if target == "cod_paid" and status is not None:
        _cod_paid(conn, step, row, shipment, status)
    if target in ("refused", "returning", "returned") and current == "shipped":
        conn.execute(sql_statement("fulfilment/track_refuse_notes.sql"), {"invoice_id": shipment.invoice_id})
        _set_status(conn, shipment.invoice_id, "refused")
        step.summary.refused += 1
        current = "refused"
    if target == "returned" and current == "refused":
        _return_goods(conn, shipment.invoice_id)
        step.summary.returned += 1
    if target in ("lost", "deleted") and target != shipment.delivery_state:
        _flag(conn, shipment.invoice_id, f"{step.kind} waybill {shipment.waybill_number}: {target}"
                                         + (f" ({status.text})" if status is not None else ""))
    if target == "delivered" and cod_expected and shipment.cod_paid_at is None and invoice.payment_status == "cod":
        _cod_late(conn, step, row, shipment, status)


def _cod_paid(conn: sa.Connection, step: _Pass, row: sa.Row, shipment: sa.Row, status: TrackingStatus) -> None:
    """The carrier paid the COD out: one 'cod' payment per waybill, the invoice paid, the shipment settled."""
    amount = status.cod_amount if status.cod_amount and status.cod_amount > 0 else shipment.cod_amount
    if not amount or amount <= 0:
        return                                 # a parcel without COD: nothing was owed
    params = {"invoice_id": shipment.invoice_id, "shipment_id": shipment.id}
    new = conn.execute(sql_statement("fulfilment/track_insert_cod_payment.sql"), {
        **params, "amount": amount, "reference": shipment.waybill_number, "received_at": status.at}).first()
    conn.execute(sql_statement("fulfilment/track_mark_cod_paid.sql"), params)
    conn.execute(sql_statement("fulfilment/track_note_cod_received.sql"), params)
    conn.execute(sql_statement("fulfilment/track_shipment_cod_paid.sql"), {**params, "amount": amount,
                                                                           "paid_at": status.at})
    conn.execute(sql_statement("fulfilment/track_clear_cod_flag.sql"), {**params, "reason": COD_LATE_REASON})
    if new is not None:
        step.summary.cod_paid.append((row.external_number, Decimal(amount)))


def _cod_late(conn: sa.Connection, step: _Pass, row: sa.Row, shipment: sa.Row, status: TrackingStatus | None
              ) -> None:
    """COD still not paid `stuck_days` after delivery: flagged by the first pass after that moment only."""
    delivered_at = shipment.delivered_at or (status.at if status is not None else step.now)
    deadline = delivered_at + timedelta(days=step.stuck_days)
    if deadline <= step.now and (shipment.tracked_at is None or shipment.tracked_at < deadline):
        _flag(conn, shipment.invoice_id, COD_LATE_REASON)
        step.summary.cod_late.append((row.external_number, shipment.waybill_number,
                                      (step.now - delivered_at).days))


def _return_goods(conn: sa.Connection, invoice_id: int) -> dict[int, Decimal]:
    """Goods back on hand (before the notes are marked returned: their lines say what came back), invoice
    returned. The caller holds the invoice's lock and has checked it is not returned yet: exactly once."""
    returned = stock.return_goods(conn, returned_places(conn, invoice_id))
    conn.execute(sql_statement("fulfilment/return_notes.sql"), {"invoice_id": invoice_id})
    _set_status(conn, invoice_id, "returned")
    return returned


def _after_pass(engine: Engine, shop: ShopSettings, now: datetime, summary: TrackSummary) -> None:
    """The stuck list and the COD still owed, over all the shop's open shipments (tracked now or not)."""
    params = {"shop_id": shop.id, "now": now, "stuck_days": shop.fulfilment.stuck_days}
    with engine.connect() as conn:
        summary.stuck = [(row.external_number, row.waybill_number, row.days)
                         for row in conn.execute(sql_statement("fulfilment/track_stuck.sql"), params)]
        summary.cod_outstanding = Decimal(
            conn.execute(sql_statement("fulfilment/track_cod_outstanding.sql"), params).scalar_one())


def _raise_for(failures: list[ShopsyncError], summary: TrackSummary) -> None:
    if not failures:
        return
    message = f"shop {summary.shop_id}: tracking incomplete: {'; '.join(summary.errors)}"
    if any(exc.retryable for exc in failures):
        raise TrackingIncomplete(message, summary)
    raise TrackingRefused(message, summary)


def _flag(conn: sa.Connection, invoice_id: int, reason: str) -> None:
    conn.execute(sql_statement("orders/flag_invoice.sql"), {"invoice_id": invoice_id, "reason": reason})


def _set_status(conn: sa.Connection, invoice_id: int, status: str) -> None:
    conn.execute(sql_statement("orders/set_invoice_status.sql"), {"invoice_id": invoice_id, "status": status})
