"""Exactly one waybill per shipment, whatever kills a run and wherever.

    1. claim + intent (one transaction, committed before any call): the shipment row is taken with
       FOR UPDATE SKIP LOCKED and set 'creating' with the request it will send (`request` jsonb);
    2. the carrier is called with the shipment's client_key written on the document;
    3. the waybill AND the sale (workflow.ship: delivery note and its lines, stock down, reservations
       shipped, invoice 'shipped') are recorded in ONE transaction.
A run that finds a shipment 'creating' (the last run was cut off somewhere after step 1) asks the carrier for
the document with that client_key first (find_waybill) and records it; only when the carrier has none does it
create one, with the request of the intent. The carrier is called with a single attempt: a timed-out create may
have been carried out, so it is never repeated inside one run; the next run looks it up. The database holds the
rest: one live shipment per invoice, one row per waybill number (schema 11's unique indexes), and one pass per
shop at a time (`shipping_lock`, which `shopsync cancel` takes too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.carriers.base import Carrier, Parcel, Recipient, Waybill, WaybillRequest, carrier_title
from shopsync.core.errors import ShopsyncError
from shopsync.core.locks import SHIPPING, session_lock
from shopsync.core.sql import sql_statement
from shopsync.orders import workflow
from shopsync.transport.api_client import RemoteRejected
from shopsync.transport.base import RetryPolicy

log = logging.getLogger(__name__)

# A create that timed out may have been carried out: never sent twice in one run (the next run looks first).
SINGLE_ATTEMPT = RetryPolicy(attempts=1)
FLAG_PREFIX = "shipment: "          # reasons this part flags an invoice with (cleared when shipping is asked again)


class ShippingBusy(ShopsyncError):
    """Another run is shipping this shop's invoices right now: this one leaves them to it (retryable)."""


@dataclass(frozen=True)
class Claimed:
    """A shipment this run holds (until its transaction ends)."""
    id: int
    state: str                                # requested | creating
    carrier: str
    client_key: str
    invoice_id: int
    number: str                               # the order number, as the shop knows it
    invoice_status: str
    ship_date: date | None
    weight_kg: Decimal | None
    seats: int | None
    request: WaybillRequest | None            # what the intent will send (set for 'creating')


@dataclass(frozen=True)
class Outcome:
    kind: Literal["created", "recognised", "failed"]
    waybill: Waybill | None = None
    reason: str | None = None


@contextmanager
def shipping_lock(engine: Engine, shop_id: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the shop's shipping lock (a session advisory lock on a connection of its own) for the block; wait up
    to `wait_seconds` for a running pass to finish, then give up with ShippingBusy. A killed run's lock goes with
    its session."""
    with session_lock(engine, SHIPPING, shop_id, wait_seconds) as locked:
        if not locked:
            raise ShippingBusy(f"shop {shop_id!r}: another run is shipping its invoices now; try again when it "
                               "has finished")
        yield


def claim(conn: sa.Connection, shipment_id: int) -> Claimed | None:
    """Take a requested or creating shipment for this transaction; None when another session holds it or it moved on."""
    row = conn.execute(sql_statement("fulfilment/claim_shipment.sql"), {"shipment_id": shipment_id}).first()
    if row is None:
        return None
    return Claimed(id=row.id, state=row.state, carrier=row.carrier, client_key=row.client_key,
                   invoice_id=row.invoice_id, number=row.external_number, invoice_status=row.invoice_status,
                   ship_date=row.ship_date, weight_kg=row.weight_kg, seats=row.seats,
                   request=request_from_json(row.request) if row.request else None)


def mark_intent(conn: sa.Connection, shipment: Claimed, request: WaybillRequest) -> Claimed:
    """Step 1: the shipment is 'creating' with the request it sends (commit before calling the carrier)."""
    marked = conn.execute(sql_statement("fulfilment/mark_intent.sql"), {
        "shipment_id": shipment.id, "ship_date": request.ship_date, "cod_amount": request.cod_amount,
        "cod_form": request.cod_form if request.cod_amount else None,
        "declared_value": request.parcel.declared_value, "request": request_json(request),
    }).first()
    if marked is None:
        raise ShopsyncError(f"shipment {shipment.id} is no longer 'requested'")
    return replace(shipment, state="creating", ship_date=request.ship_date, request=request)


def create_once(engine: Engine, carrier: Carrier, shipment: Claimed, look_first: bool,
                today: date | None = None) -> Outcome:
    """Steps 2 and 3 for a shipment whose intent is committed; `look_first`: it was found 'creating' (an earlier
    run may have created the document). RemoteError (no useful answer) propagates with the shipment left
    'creating'; RemoteRejected marks it failed and flags the invoice.

    Found 'creating' and not at the carrier: created now with the intent's request, dated `today` when its day
    has passed (a carrier refuses a ship date in the past); not created at all when the invoice is no longer
    ready (changed outside shopsync meanwhile): failed and flagged instead."""
    if shipment.request is None or shipment.ship_date is None:
        raise ShopsyncError(f"shipment {shipment.id} has no intent to carry out")
    if look_first:
        found = carrier.find_waybill(shipment.client_key, shipment.ship_date)
        if found is not None:
            log.info("shipment %s (%s): %s already has waybill %s", shipment.id, shipment.number, carrier.kind,
                     found.number)
            return record(engine, shipment, found, recognised=True)
        if shipment.invoice_status != "ready":
            reason = (f"the invoice became {shipment.invoice_status} while its waybill was being made; "
                      f"{carrier_title(carrier.kind)} has none, so none was made")
            fail(engine, shipment, reason)
            return Outcome("failed", reason=reason)
        shipment = _again(engine, shipment, today)
    try:
        waybill = carrier.create_waybill(shipment.request)
    except RemoteRejected as rejected:
        reason = f"{carrier_title(carrier.kind)} refused the waybill: {rejected}"
        fail(engine, shipment, reason)
        return Outcome("failed", reason=reason)
    return record(engine, shipment, waybill, recognised=False)


def _again(engine: Engine, shipment: Claimed, today: date | None) -> Claimed:
    """Another create call for a shipment the carrier has no document of; a passed ship date moves to today."""
    assert shipment.request is not None and shipment.ship_date is not None
    request = shipment.request
    if today is not None and shipment.ship_date < today:
        request = replace(request, ship_date=today)
    with engine.begin() as conn:
        conn.execute(sql_statement("fulfilment/count_attempt.sql"), {
            "shipment_id": shipment.id, "ship_date": request.ship_date, "request": request_json(request)})
    return replace(shipment, ship_date=request.ship_date, request=request)


def record(engine: Engine, shipment: Claimed, waybill: Waybill, recognised: bool) -> Outcome:
    """Step 3: the waybill and the sale in one transaction. An invoice that can no longer ship (someone cancelled or
    shipped it outside shopsync meanwhile) keeps the waybill on a failed shipment, flagged for a person."""
    request = shipment.request
    cod = request.cod_amount if request is not None else None
    try:
        with engine.begin() as conn:
            lock_rows(conn, shipment)
            note_id = workflow.ship(conn, shipment.invoice_id, carrier_title(shipment.carrier), waybill.number,
                                    cod or None)
            updated = conn.execute(sql_statement("fulfilment/record_waybill.sql"), {
                "shipment_id": shipment.id, "number": waybill.number, "ref": waybill.ref, "cost": waybill.cost,
                "estimated_delivery": waybill.estimated_delivery, "cod_form": waybill.cod_form if cod else None,
                "delivery_note_id": note_id,
            }).first()
            if updated is None:
                raise workflow.InvalidTransition(f"shipment {shipment.id} is no longer 'creating'")
    except workflow.InvalidTransition as refused:
        reason = (f"waybill {waybill.number} exists at {carrier_title(shipment.carrier)} but the invoice cannot "
                  f"ship ({refused}): delete the waybill there or ship the invoice by hand")
        fail(engine, shipment, reason, waybill)
        return Outcome("failed", waybill=waybill, reason=reason)
    return Outcome("recognised" if recognised else "created", waybill=waybill)


def fail(engine: Engine, shipment: Claimed, reason: str, waybill: Waybill | None = None) -> None:
    """The shipment failed (a person fixes it and asks again with `shopsync ship`); the invoice is flagged."""
    with engine.begin() as conn:
        lock_rows(conn, shipment)
        fail_in(conn, shipment, reason, waybill)


def lock_rows(conn: sa.Connection, shipment: Claimed) -> None:
    """The invoice, then the shipment: the one order every shipping transaction takes them in."""
    conn.execute(sql_statement("orders/lock_invoice.sql"), {"invoice_id": shipment.invoice_id})
    conn.execute(sql_statement("fulfilment/lock_shipment.sql"), {"shipment_id": shipment.id})


def fail_in(conn: sa.Connection, shipment: Claimed, reason: str, waybill: Waybill | None = None) -> None:
    conn.execute(sql_statement("fulfilment/fail_shipment.sql"), {
        "shipment_id": shipment.id, "reason": reason,
        "number": waybill.number if waybill else None, "ref": waybill.ref if waybill else None,
    })
    flag(conn, shipment.invoice_id, reason)


def flag(conn: sa.Connection, invoice_id: int, reason: str) -> None:
    conn.execute(sql_statement("orders/flag_invoice.sql"), {"invoice_id": invoice_id, "reason": FLAG_PREFIX + reason})


def note_error(engine: Engine, shipment_id: int, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("fulfilment/note_shipment_error.sql"),
                     {"shipment_id": shipment_id, "error": error[:1000]})


# -- the intent's request as JSON (what was sent; no secrets in it) ------------------------------------------------

def request_json(request: WaybillRequest) -> str:
    return json.dumps(asdict(request), ensure_ascii=False, default=str)


def request_from_json(data: dict[str, Any] | str) -> WaybillRequest:
    """The request an intent stored, to send the same again (a cut-off run's shipment the carrier has not got)."""
    value = json.loads(data) if isinstance(data, str) else dict(data)
    parcel = dict(value["parcel"])
    parcel["weight_kg"] = Decimal(str(parcel["weight_kg"]))
    parcel["declared_value"] = Decimal(str(parcel["declared_value"]))
    cod = value.get("cod_amount")
    return WaybillRequest(
        client_key=value["client_key"], ship_date=date.fromisoformat(value["ship_date"]),
        recipient=Recipient(**value["recipient"]), parcel=Parcel(**parcel), service_type=value["service_type"],
        payer=value["payer"], cod_amount=None if cod is None else Decimal(str(cod)), cod_form=value["cod_form"],
        cod_fallback=value["cod_fallback"],
    )
