"""Orders pulled from a channel's API land through the same path as order files.

    pull_orders(engine, shop, channel, source, now=..., today=...) -> PullSummary

The pull reads every order created or changed since the channel's cursor (less an overlap, so an order
changed while the last pull ran is not missed) and, for each one, in one transaction:
- parses it with the file parser of that channel's format (orders/formats), numbers it
  `order_prefix + the channel's id`, and applies it (insert-or-skip: an order seen again lands once);
- binds it to its invoice (channel_bindings) and keeps the channel's status when it is not older than the
  one kept (listings come out of order), the waybill that comes with it and the carrier's id of the buyer's
  branch (invoices.delivery_branch_ref, which the carrier directory resolves);
- a cancellation in the channel releases the reservation of an invoice that has not shipped; after
  shipping it flags the invoice for a person.
An order that cannot land (unreadable, refused by the database) is kept whole in channel_order_problems
with the reasons and the pull goes on; it is tried again by every pull that sees it. A channel that fails
(down, timing out) stops the pull with a retryable error; the cursor moves only over what was seen.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.channels import binder
from shopsync.channels.base import ChannelOrder, OrderSource
from shopsync.core.config import ChannelSettings, ShopSettings
from shopsync.core.sql import sql_statement
from shopsync.orders import workflow
from shopsync.orders.apply import ApplyResult, apply_order
from shopsync.orders.formats import parse_order_entry
from shopsync.orders.model import Order, RejectedOrder

log = logging.getLogger(__name__)
STREAM = "orders"
NOT_SHIPPED = workflow.CANCELLABLE


@dataclass
class PullSummary:
    shop_id: str
    channel: str
    since: str
    seen: int = 0
    applied: int = 0
    flagged: int = 0
    skipped: int = 0                      # already here with the same content
    conflicts: int = 0                    # the same number with other content (recorded, first kept)
    problems: int = 0                     # kept in channel_order_problems
    released: int = 0                     # cancelled in the channel before shipping: reservation released
    cancelled_after_shipping: int = 0     # flagged for a person
    cursor: str | None = None
    problem_examples: list[str] = field(default_factory=list)
    reserved_goods: list[int] = field(default_factory=list)   # goods whose free stock this pull changed

    def as_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.channel}: {self.seen} order(s) seen since {self.since}: {self.applied} applied, "
                f"{self.flagged} flagged, {self.skipped} already here, {self.conflicts} conflicting, "
                f"{self.problems} could not land, {self.released} cancelled (reservation released), "
                f"{self.cancelled_after_shipping} cancelled after shipping (flagged)")


def pull_orders(engine: Engine, shop: ShopSettings, channel: ChannelSettings, source: OrderSource, *,
                now: datetime, today: date) -> PullSummary:
    with engine.connect() as conn:
        cursor = binder.read_cursor(conn, shop.id, channel.kind, STREAM)
    start = cursor if cursor is not None else now - timedelta(days=channel.first_pull_days)
    since = start - timedelta(seconds=channel.overlap_seconds)
    summary = PullSummary(shop.id, channel.kind, since.isoformat())
    newest = cursor
    for order in source.changed_orders(since):
        summary.seen += 1
        _land(engine, shop, channel, source.kind, order, today, summary)
        if order.modified_at is not None and (newest is None or order.modified_at > newest):
            newest = order.modified_at
    position = newest or start
    with engine.begin() as conn:
        binder.move_cursor(conn, shop.id, channel.kind, STREAM, position)
    summary.cursor = position.isoformat()
    log.info("shop %s: %s", shop.id, summary.line())
    return summary


def _land(engine: Engine, shop: ShopSettings, channel: ChannelSettings, fmt: str, order: ChannelOrder,
          today: date, summary: PullSummary) -> None:
    if not order.external_id:
        _keep_problem(engine, shop, channel, order, ["the order has no id"], summary)
        return
    parsed = parse_order_entry(as_file_values(order.raw), fmt)
    if isinstance(parsed, RejectedOrder):
        _keep_problem(engine, shop, channel, order, parsed.reasons, summary)
        return
    parsed.external_number = channel.invoice_prefix + order.external_id
    try:
        with engine.begin() as conn:
            result = apply_order(conn, shop.id, parsed, shop.warehouses, None, today, checks=shop.order_checks)
            invoice_id = result.invoice_id or _invoice_id(conn, shop.id, parsed.external_number)
            _follow_channel(conn, shop, channel, order, parsed, invoice_id, summary)
            conn.execute(sql_statement("orders/clear_channel_order_problem.sql"),
                         {"shop_id": shop.id, "channel": channel.kind, "external_id": order.external_id})
    except sa.exc.OperationalError:
        raise                                   # the database itself is unwell: the run retries
    except sa.exc.DBAPIError as refused:        # this order's data: kept, the pull goes on
        reason = f"the database refused the order: {str(refused.orig).splitlines()[0][:300]}"
        _keep_problem(engine, shop, channel, order, [reason], summary)
        return
    _count(result, summary)


def _follow_channel(conn: sa.Connection, shop: ShopSettings, channel: ChannelSettings, order: ChannelOrder,
                    parsed: Order, invoice_id: int, summary: PullSummary) -> None:
    binding = binder.bind(conn, shop.id, channel.kind, "order", invoice_id, order.external_id)
    newer = binder.record_seen(conn, binding, order.status, order.modified_at)
    if parsed.tracking_number:
        conn.execute(sql_statement("orders/keep_tracking_number.sql"),
                     {"invoice_id": invoice_id, "tracking_number": parsed.tracking_number})
    if parsed.delivery_branch_ref:
        conn.execute(sql_statement("orders/keep_delivery_branch_ref.sql"),
                     {"invoice_id": invoice_id, "branch_ref": parsed.delivery_branch_ref})
    if order.cancelled and newer:
        released = _cancelled_in_channel(conn, channel, invoice_id, summary)
        summary.reserved_goods.extend(good for good in released if good not in summary.reserved_goods)


def _cancelled_in_channel(conn: sa.Connection, channel: ChannelSettings, invoice_id: int,
                          summary: PullSummary) -> list[int]:
    """The goods whose reservation the cancellation released (none after shipping: the invoice is flagged)."""
    status = conn.execute(sql_statement("orders/invoice_status.sql"), {"invoice_id": invoice_id}).scalar_one()
    if status in NOT_SHIPPED:
        released = workflow.cancel(conn, invoice_id, f"cancelled in {channel.kind}")
        summary.released += 1
        return list(released)
    if status in ("shipped", "delivered", "refused", "returned"):
        conn.execute(sql_statement("orders/flag_invoice.sql"),
                     {"invoice_id": invoice_id, "reason": f"cancelled in {channel.kind} after it shipped"})
        summary.cancelled_after_shipping += 1
    return []


def _invoice_id(conn: sa.Connection, shop_id: str, number: str) -> int:
    row = conn.execute(sql_statement("orders/invoice_of_number.sql"),
                       {"shop_id": shop_id, "external_number": number}).first()
    if row is None:
        raise sa.exc.DataError("invoice lookup", {}, Exception(f"order {number} did not land and has no invoice"))
    return row.id


def _count(result: ApplyResult, summary: PullSummary) -> None:
    summary.reserved_goods.extend(good for good in result.reserved if good not in summary.reserved_goods)
    if result.status == "applied":
        summary.applied += 1
    elif result.status == "flagged":
        summary.flagged += 1
    elif result.status == "conflict":
        summary.conflicts += 1
    else:
        summary.skipped += 1


def _keep_problem(engine: Engine, shop: ShopSettings, channel: ChannelSettings, order: ChannelOrder,
                  reasons: list[str], summary: PullSummary) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("orders/record_channel_order_problem.sql"), {
            "shop_id": shop.id, "channel": channel.kind, "external_id": order.external_id or "?",
            "raw": json.dumps(order.raw, ensure_ascii=False, default=_json_default), "reasons": reasons})
    summary.problems += 1
    if len(summary.problem_examples) < 5:
        summary.problem_examples.append(f"{order.external_id or '?'}: {'; '.join(reasons)[:300]}")
    log.warning("shop %s: %s order %s could not land: %s", shop.id, channel.kind, order.external_id,
                "; ".join(reasons))


def as_file_values(value: Any) -> Any:
    """The order as the file decoder would give it: every number a Decimal (the parsers read money and
    quantities exactly, and take an id written as a number as its text)."""
    if isinstance(value, dict):
        return {key: as_file_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_file_values(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    return value


def _json_default(value: object) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)


def order_problems(conn: sa.Connection, shop_id: str) -> list[sa.Row]:
    """The channel orders of a shop that could not land, oldest first."""
    return conn.execute(sql_statement("orders/list_channel_order_problems.sql"), {"shop_id": shop_id}).all()
