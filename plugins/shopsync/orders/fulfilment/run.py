"""One shop's fulfilment in steps: what `shopsync fulfil` and the `shop_<id>__fulfilment` DAG run.

    ship    ready invoices get their waybill (exactly once) and become sales   (shipping.ship_ready)
    track   every open waybill's carrier status, delivery, COD money, returns  (tracking.track_open)
    notify  the buyer told the waybill; unpaid prepaid invoices sent payment details, once each
    report  what shipped since the run began, what waits, what is stuck, the COD money outstanding
Each step can run alone and returns a JSON-able summary (None: the shop's settings turn it off).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings

log = logging.getLogger(__name__)


def ship(engine: Engine, shop: ShopSettings) -> dict | None:
    from shopsync.orders.fulfilment.shipping import ship_ready

    if not shop.carriers:
        return None
    return ship_ready(engine, shop).as_json()


def track(engine: Engine, shop: ShopSettings) -> dict | None:
    from shopsync.orders.fulfilment.tracking import track_open

    if not shop.carriers:
        return None
    return track_open(engine, shop).as_json()


def notify(engine: Engine, shop: ShopSettings) -> dict | None:
    from shopsync.orders.fulfilment.notify import send_buyer_messages
    from shopsync.transport.connections import get_connection
    from shopsync.transport.smtp import smtp_conn_id

    if not shop.fulfilment.buyer_emails:
        return None
    return send_buyer_messages(engine, shop, get_connection(smtp_conn_id())).as_json()


def report(engine: Engine, shop: ShopSettings, since: datetime | None = None) -> dict:
    """The report, also written to the log (the task log is what a person reads in the UI)."""
    from shopsync.orders.fulfilment.report import fulfilment_report

    with engine.connect() as conn:
        found = fulfilment_report(conn, shop, since=since)
    for line in found.lines():
        log.info("shop %s: %s", shop.id, line)
    return found.as_json()


STEPS: dict[str, Callable[..., Any]] = {"ship": ship, "track": track, "notify": notify, "report": report}


def fulfil(engine: Engine, shop: ShopSettings) -> tuple[dict, list[Exception]]:
    """Every step in order (ship before notify: a new waybill is mailed in the same pass), then the report.

    A step that fails does not stop the others; its entry says what it did before the failure. Returns the
    results and the failures (the caller raises the first, after showing the rest).
    """
    started = datetime.now(UTC)
    result: dict[str, Any] = {}
    failures: list[Exception] = []
    for name in ("ship", "track", "notify"):
        try:
            result[name] = STEPS[name](engine, shop)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller with the other steps' results
            # a pass cut short by a carrier still did part of its work: its summary says what
            done = getattr(exc, "summary", None)
            result[name] = {**(done.as_json() if done is not None else {}), "error": f"{type(exc).__name__}: {exc}"}
            failures.append(exc)
    result["report"] = report(engine, shop, since=started)
    return result, failures


def moved_invoices(shipped: dict | None, tracked: dict | None) -> int:
    """How many invoices a run moved (shipped, delivered, paid, refused, returned): channels are told."""
    moved = _count((shipped or {}).get("shipped"))
    return moved + sum(_count((tracked or {}).get(key)) for key in ("delivered", "cod_paid", "refused", "returned"))


def returned_goods(tracked: dict | None) -> int:
    """How many returns came back on hand in a tracking pass (free stock went up)."""
    return _count((tracked or {}).get("returned"))


def _count(value: Any) -> int:
    if isinstance(value, list | tuple):
        return len(value)
    return int(value or 0)
