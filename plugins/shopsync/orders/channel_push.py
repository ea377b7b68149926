"""Invoice states told to the channel each order came from, exactly once.

    push_statuses(engine, shop, channel, sink) -> PushSummary

For every order of the channel whose invoice changed since the channel last acknowledged it, the state
to show there is made from the invoice (status through the shop's status map, the waybill, the carrier,
a cancellation's reason) and pushed through the binder (channels/binder.push_once): not at all when the
channel already acknowledged the same state, checked with the channel first when a push of it was cut
off, never again after the channel refused it. A state the status map leaves out (Rozetka's "delivered")
is not pushed. One shop's pushes to one channel run under one lock, so an older state never overtakes a
newer one. A channel that fails stops the run with a retryable error; what was pushed stays recorded.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.channels import binder
from shopsync.channels.base import OrderState, StatusSink, carrier_code
from shopsync.core.config import ChannelSettings, ShopSettings
from shopsync.core.sql import sql_statement

log = logging.getLogger(__name__)


@dataclass
class PushSummary:
    shop_id: str
    channel: str
    pushed: int = 0
    recognised: int = 0          # pushed by a run that was cut off: the channel showed it, not sent again
    unchanged: int = 0
    not_mapped: int = 0          # the status map leaves this state out
    refused: int = 0
    refusals: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.channel}: {self.pushed} status(es) pushed, {self.recognised} found already there, "
                f"{self.unchanged} unchanged, {self.not_mapped} not pushed (not in the status map), "
                f"{self.refused} refused")


def push_statuses(engine: Engine, shop: ShopSettings, channel: ChannelSettings, sink: StatusSink) -> PushSummary:
    summary = PushSummary(shop.id, channel.kind)
    with binder.channel_push_lock(engine, shop.id, channel.kind):
        with engine.connect() as conn:
            rows = conn.execute(sql_statement("orders/channel_order_states.sql"),
                                {"shop_id": shop.id, "channel": channel.kind}).all()
        for row in rows:
            _push_one(engine, channel, sink, row, summary)
    log.info("shop %s: %s", shop.id, summary.line())
    return summary


def order_state(channel: ChannelSettings, row: sa.Row) -> OrderState | None:
    """What the channel should show for this invoice (None: the status map leaves its state out)."""
    status = channel.channel_status(row.invoice_status)
    if status is None:
        return None
    cancelled = row.invoice_status == "cancelled"
    return OrderState(status=status, waybill=row.waybill, carrier=carrier_code(row.carrier),
                      cancel_reason=row.cancel_reason if cancelled else None)


def _push_one(engine: Engine, channel: ChannelSettings, sink: StatusSink, row: sa.Row,
              summary: PushSummary) -> None:
    state = order_state(channel, row)
    if state is None:
        summary.not_mapped += 1
        return
    binding = binder.Binding.from_row(row)
    outcome = binder.push_once(
        engine, binding, state.as_json(),
        send=lambda _: sink.push_order_state(binding.external_id, state),
        already_there=lambda _: sink.shows_order_state(binding.external_id, state),
        channel_shows_it=not state.waybill and str(binding.external_status) == str(state.status))
    if outcome == "refused":
        summary.refused += 1
        if len(summary.refusals) < 5:
            summary.refusals.append(f"order {binding.external_id}: {_reason(engine, binding)}")
    else:
        setattr(summary, outcome, getattr(summary, outcome) + 1)


def _reason(engine: Engine, binding: binder.Binding) -> str:
    with engine.connect() as conn:
        found = binder.find(conn, binding.shop_id, binding.channel, "order", external_id=binding.external_id)
    return (found.last_error if found else None) or "refused"
