"""Channel sync: one DAG per shop and channel in include/shops/ (shop_<id>__<channel>_sync).

Thin on purpose: the work is shopsync.orders.channel_sync (pull, status push) and shopsync.channels.stock_push.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Metadata, dag, task

from shopsync.airflow.tasks import ORDER_STATES_ASSET, STOCK_CHANGED_ASSET, default_args, shop_task, shops_to_build
from shopsync.core.config import ChannelSettings, ShopSettings

DOC = """
### {channel} sync of shop `{id}` ({name})

Keeps {channel} (Airflow Connection `{conn_id}`) and the accounting database in step, by API.

1. **Pull orders** ({pull}): every order created or changed in {channel} since the last pull (less
   {overlap} s of overlap) lands like an order file does: one invoice per order (`{prefix}<their id>`),
   customer matched, stock reserved, the waybill that came with it kept. Seen again: skipped. Cancelled
   there before shipping: reservation released; after shipping: the invoice is flagged. An order that
   cannot land is kept whole (`shopsync orders --shop {id} --attention`).
2. **Push statuses** ({push}): each invoice whose state changed is told to {channel} once: accepted,
   shipped with the waybill, delivered, cancelled with the reason (status map: the shop file's
   `channels[].status_map` over the defaults). Never twice, never an older state after a newer one; a
   push cut off by a kill is checked with {channel} before it is sent again.
3. **Push stock and prices** ({stock}), beside the other two from the start of the run: free stock (on hand
   less reservations) and prices of the goods whose state changed since {channel} last acknowledged it, in
   batches. A stock change this run's pull makes goes out with the run its Asset starts.

**Output**: when the pull reserved or released stock, the Asset `shopsync_stock_changed` (every shop's
catalog export and every channel's stock push follow at once).

**Schedule**: `{schedule}`, whenever stock changes anywhere, and whenever fulfilment moves an invoice
(shipped with its waybill, delivered, returned: Asset `shopsync_order_states_changed`). **By hand**:
`shopsync channel sync --shop {id} --channel {kind}` (or `pull`, `push`, `stock`).
**Backfill**: not needed. Each run reads what changed since the cursor kept in the database and pushes
what the channel has not acknowledged, so a missed or failed run is caught up by the next one.
"""


def build_dag(shop: ShopSettings, channel: ChannelSettings):
    from shopsync.channels.connect import pushes_stock

    stock_changed = Asset(name=STOCK_CHANGED_ASSET, uri="shopsync://stock/changed")
    states_changed = Asset(name=ORDER_STATES_ASSET, uri="shopsync://orders/states-changed")

    def on_off(flag: bool) -> str:
        return "on" if flag else "off in the shop file"

    @dag(
        dag_id=f"shop_{shop.id}__{channel.kind}_sync",
        description=f"{channel.kind} <-> {shop.name}: orders in, statuses and stock out",
        schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(channel.schedule, timezone="UTC"),
                                     assets=stock_changed | states_changed),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(shop),
        tags=[f"shop:{shop.id}", "channels", channel.kind],
        doc_md=DOC.format(
            id=shop.id, name=shop.name, channel=channel.kind, kind=channel.kind, conn_id=channel.conn_id,
            pull=on_off(channel.pull_orders), push=on_off(channel.push_statuses),
            stock=on_off(pushes_stock(channel)) if channel.kind != "rozetka" else "Rozetka has no stock API",
            overlap=channel.overlap_seconds, prefix=channel.invoice_prefix, schedule=channel.schedule,
        ),
    )
    def channel_sync():
        @task
        @shop_task
        def pull_orders() -> dict | None:
            from shopsync.airflow.tasks import channel_step

            return channel_step(shop.id, channel.kind, "pull")

        @task(outlets=[stock_changed])
        @shop_task
        def signal_stock_changed(pulled: dict | None):
            """Emits the Asset only when the pull reserved or released stock."""
            from airflow.sdk.exceptions import AirflowSkipException

            goods = (pulled or {}).get("reserved_goods") or []
            if not goods:
                raise AirflowSkipException("no stock moved: nothing to signal")
            yield Metadata(stock_changed, {"shop": shop.id, "goods": goods[:1000], "count": len(goods)})
            return {"goods": len(goods)}

        @task
        @shop_task
        def push_statuses(pulled: dict | None) -> dict | None:
            from shopsync.airflow.tasks import channel_step

            return channel_step(shop.id, channel.kind, "push")

        @task
        @shop_task
        def push_stock() -> dict | None:
            from shopsync.airflow.tasks import channel_step

            return channel_step(shop.id, channel.kind, "stock")

        pulled = pull_orders()
        signal_stock_changed(pulled)
        push_statuses(pulled)
        push_stock()      # from the start: a run the stock-changed Asset started has nothing to wait for

    return channel_sync()


for _shop in shops_to_build("*_sync"):
    for _channel in _shop.channels:
        globals()[f"shop_{_shop.id}__{_channel.kind}_sync"] = build_dag(_shop, _channel)
