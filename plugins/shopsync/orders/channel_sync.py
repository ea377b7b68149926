"""One channel of one shop brought in step: orders pulled, states pushed, free stock and prices pushed.

What `shopsync channel pull|push|sync` and the `shop_<id>__channel_sync` DAG run; each step can run alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from shopsync.channels.connect import open_channel, pushes_stock
from shopsync.channels.stock_push import push_stock
from shopsync.core.config import ChannelSettings, ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.orders.channel_pull import PullSummary, pull_orders
from shopsync.orders.channel_push import PushSummary, push_statuses


def pull(engine: Engine, shop: ShopSettings, channel: ChannelSettings, now: datetime | None = None,
         today: date | None = None) -> PullSummary | None:
    """None when the shop's settings say this channel's orders are not pulled."""
    if not channel.pull_orders:
        return None
    moment = now or datetime.now(UTC)
    return pull_orders(engine, shop, channel, open_channel(channel), now=moment, today=today or moment.date())


def push(engine: Engine, shop: ShopSettings, channel: ChannelSettings) -> PushSummary | None:
    if not channel.push_statuses:
        return None
    return push_statuses(engine, shop, channel, open_channel(channel))


def push_goods(engine: Engine, shop: ShopSettings, channel: ChannelSettings, tuning: Tuning = DEFAULT_TUNING):
    if not pushes_stock(channel):
        return None
    return push_stock(engine, shop, channel, open_channel(channel), batch_size=tuning.stock_push_batch)


STEPS = {"pull": pull, "push": push, "stock": push_goods}


def sync(engine: Engine, shop: ShopSettings, channel: ChannelSettings, tuning: Tuning = DEFAULT_TUNING) -> dict:
    """Pull, then push states, then stock (a pulled order's reservation is in the stock pushed after it)."""
    steps = {"pull": pull(engine, shop, channel), "push": push(engine, shop, channel),
             "stock": push_goods(engine, shop, channel, tuning)}
    return {name: None if summary is None else summary.as_json() for name, summary in steps.items()}


def summary_lines(result: dict) -> list[str]:
    lines = []
    for step, summary in result.items():
        if summary is None:
            lines.append(f"{step}: off in the shop's settings")
        else:
            lines.append(f"{step}: " + ", ".join(f"{key} {value}" for key, value in summary.items()
                                                 if isinstance(value, int) and not isinstance(value, bool)))
    return lines
