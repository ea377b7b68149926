"""Free stock and prices pushed to a channel with a products API, only what changed, exactly once in effect.

    push_stock(engine, shop, channel, sink, *, batch_size) -> StockPushSummary

One statement (include/sql/channels/good_stock_states.sql) builds every candidate good's state in the
database (free stock over the shop's warehouses from the free_stock view, floored, never below 0; the
retail price the feeds publish; presence), hashes it there and returns only the goods whose state the
channel has not acknowledged. The result is streamed and pushed in batches of `batch_size`
(binder.push_batch): intents committed, the batch sent, each item acknowledged or recorded as refused. A
channel that was down keeps the intents and gets them on the next run; a good the channel does not know is
refused once and not sent again until its state changes.

A good's record in the channel is found once and kept in its binding (`channel_bindings`, entity 'good'):
Prom addresses products by our good id; WooCommerce's product is found by the feed's SKU `good-<id>`. A
good WooCommerce has no product for is bound to a marker (`NOT_FOUND` + good id) and recorded as refused, so it
is looked up again only when its state changes.
Runs hold the shop's stock push lock for the channel: two stock pushes never interleave (a status push
may run beside one: other bindings).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.channels import binder
from shopsync.channels.base import GoodState, StockSink
from shopsync.core.config import ChannelSettings, ShopSettings
from shopsync.core.sql import sql_statement
from shopsync.core.tuning import DEFAULT_TUNING
from shopsync.stock import shop_warehouses

log = logging.getLogger(__name__)

NOT_FOUND = "not-found:"          # external id prefix of a good the channel had no record for when looked up
MAX_REFUSALS_LISTED = 5


@dataclass
class StockPushSummary:
    shop_id: str
    channel: str
    pushed: int = 0              # goods whose new state the channel acknowledged
    refused: int = 0             # goods the channel refused (unknown product, bad value): not resent unchanged
    not_found: int = 0           # goods with no record in the channel (of the refused)
    looked_up: int = 0           # goods whose record was looked for in the channel this run
    batches: int = 0
    refusals: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.channel}: stock and price of {self.pushed} good(s) pushed in {self.batches} batch(es), "
                f"{self.refused} refused ({self.not_found} not in the channel)")


def push_stock(engine: Engine, shop: ShopSettings, channel: ChannelSettings, sink: StockSink, *,
               batch_size: int = DEFAULT_TUNING.stock_push_batch) -> StockPushSummary:
    """Push every good's changed stock, presence and price to this channel (module docstring). A channel
    error stops the run (retryable); what was acknowledged stays recorded."""
    summary = StockPushSummary(shop.id, channel.kind)
    with binder.channel_push_lock(engine, shop.id, channel.kind, "stock"):
        with engine.connect() as conn:
            params = {"shop_id": shop.id, "channel": channel.kind, "currency": shop.currency,
                      "warehouse_ids": shop_warehouses(conn, shop.warehouses)}
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                sql_statement("channels/good_stock_states.sql"), params)
            for rows in result.partitions(batch_size):
                _push_rows(engine, shop, channel, sink, rows, summary)
    log.info("shop %s: %s", shop.id, summary.line())
    return summary


def good_state(row: sa.Row) -> GoodState:
    return GoodState(good_id=row.good_id, quantity=int(row.quantity), price=row.price, old_price=row.old_price,
                     presence=row.presence)


def _push_rows(engine: Engine, shop: ShopSettings, channel: ChannelSettings, sink: StockSink,
               rows: Sequence[sa.Row], summary: StockPushSummary) -> None:
    states = {row.good_id: good_state(row) for row in rows}
    items = _bound_items(engine, shop, channel, sink, rows, states, summary)
    missing = [item for item in items if item.external_id.startswith(NOT_FOUND)]
    if missing:
        reasons = {item.external_id: f"{channel.kind} has no product for good {item.state['good_id']}"
                   for item in missing}
        binder.refuse_batch(engine, missing, reasons)
        summary.not_found += len(missing)
        _count_refusals(summary, missing, reasons)
    to_send = [item for item in items if not item.external_id.startswith(NOT_FOUND)]
    if not to_send:
        return
    by_external = {item.external_id: states[item.state["good_id"]] for item in to_send}
    summary.batches += 1
    outcome = binder.push_batch(engine, to_send, send=lambda batch: sink.push_good_states(
        [(item.external_id, by_external[item.external_id]) for item in batch]))
    summary.pushed += len(outcome.pushed)
    _count_refusals(summary, [item for item in to_send if item.external_id in outcome.refused], outcome.refused)


def _bound_items(engine: Engine, shop: ShopSettings, channel: ChannelSettings, sink: StockSink,
                 rows: Sequence[sa.Row], states: dict[int, GoodState],
                 summary: StockPushSummary) -> list[binder.BatchItem]:
    """The batch's goods with their bindings: looked up in the channel (once) where there is none yet or
    the last look found nothing."""
    external = {row.good_id: row.external_id for row in rows if row.binding_id is not None}
    binding_ids = {row.good_id: row.binding_id for row in rows if row.binding_id is not None}
    to_look_up = [row.good_id for row in rows if row.binding_id is None or row.external_id.startswith(NOT_FOUND)]
    if to_look_up:
        summary.looked_up += len(to_look_up)
        found = sink.product_ids(to_look_up)
        looked = {good_id: found.get(good_id) or f"{NOT_FOUND}{good_id}" for good_id in to_look_up}
        _rebind_changed(engine, {binding_ids[g]: e for g, e in looked.items() if g in binding_ids and e != external[g]})
        fresh = {g: e for g, e in looked.items() if g not in binding_ids}
        for bound in _bind(engine, shop, channel, fresh):
            binding_ids[bound.internal_id] = bound.id
        external.update(looked)
    return [binder.BatchItem(binding_ids[row.good_id], external[row.good_id],
                             {"good_id": row.good_id, **states[row.good_id].as_json()}, row.digest) for row in rows]


def _bind(engine: Engine, shop: ShopSettings, channel: ChannelSettings, external: dict[int, str]) -> list[sa.Row]:
    if not external:
        return []
    with engine.begin() as conn:
        return conn.execute(sql_statement("channels/bind_goods.sql"), {
            "shop_id": shop.id, "channel": channel.kind, "internal_ids": list(external),
            "external_ids": list(external.values())}).all()


def _rebind_changed(engine: Engine, external_by_binding: dict[int, str]) -> None:
    if external_by_binding:
        with engine.begin() as conn:
            conn.execute(sql_statement("channels/rebind_goods.sql"), {
                "binding_ids": list(external_by_binding), "external_ids": list(external_by_binding.values())})


def _count_refusals(summary: StockPushSummary, items: Sequence[binder.BatchItem], reasons: dict[str, str]) -> None:
    summary.refused += len(items)
    for item in items[:max(0, MAX_REFUSALS_LISTED - len(summary.refusals))]:
        summary.refusals.append(f"good {item.state['good_id']}: {reasons.get(item.external_id) or 'refused'}")
