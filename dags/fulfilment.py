"""Fulfilment: one DAG per shop with a carrier in include/shops/ (shop_<id>__fulfilment).

Thin on purpose: the work is shopsync.orders.fulfilment (shipping, tracking, notify, report).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, CronTriggerTimetable, Metadata, dag, get_current_context, task

from shopsync.airflow.tasks import (
    ORDER_STATES_ASSET,
    STOCK_CHANGED_ASSET,
    default_args,
    shop_task,
    shops_to_build,
)
from shopsync.core.config import ShopSettings

DOC = """
### Fulfilment of shop `{id}` ({name})

Everything after an invoice is **ready to ship** (the accounting program sets it, or
`shopsync ship --shop {id} --invoice N [--carrier C] [--weight KG] [--seats N]`):

1. **Ship**: a waybill ("ТТН") with {carriers}, addressed from the customer's name, phone, city and branch
   resolved against the local carrier directory (`carrier_directory__*` DAGs). Cash on delivery = the
   invoice total less what was prepaid. Exactly one waybill per shipment, whatever is killed when: the intent
   is recorded before the carrier is called and looked up at the carrier before any retry. With the waybill
   the reservation becomes a sale (on hand down, delivery note with each line's cost price). An address that
   cannot be resolved, or a request the carrier refuses, flags the invoice and creates nothing.
2. **Track**: every open waybill (Nova Poshta in batches of 100, Ukrposhta per barcode); each new status is
   kept with its time; delivered -> invoice delivered; COD paid out -> payment recorded; refused -> the goods
   come back on hand when the return arrives. Unknown codes are kept and flagged, never fatal.
3. **Notify**: the buyer gets the waybill by e-mail (once); an unpaid prepaid invoice gets the payment
   details (once).
4. **Report** (this run's return value): what shipped, what waits and why, what is stuck (no status change
   for {stuck_days} days), the cash on delivery outstanding.

**Output**: the Asset `shopsync_order_states_changed` when an invoice moved (every channel DAG pushes the new
state at once) and `shopsync_stock_changed` when returned goods came back on hand.

**Schedule**: `{schedule}`. **By hand**: `shopsync fulfil --shop {id}` (all steps), `shopsync track --shop {id}`,
`shopsync orders --shop {id}` (waybill, delivery state, COD). **Backfill**: not needed: each run works
from the database's current state (ready invoices, open waybills), so a missed run is caught up by the next.
"""


def build_dag(shop: ShopSettings):
    states_changed = Asset(name=ORDER_STATES_ASSET, uri="shopsync://orders/states-changed")
    stock_changed = Asset(name=STOCK_CHANGED_ASSET, uri="shopsync://stock/changed")

    @dag(
        dag_id=f"shop_{shop.id}__fulfilment",
        description=f"{shop.name}: waybills, tracking, cash on delivery, returns, buyer e-mails",
        schedule=CronTriggerTimetable(shop.fulfilment.schedule, timezone="UTC"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(shop),
        tags=[f"shop:{shop.id}", "fulfilment"] + [carrier.kind for carrier in shop.carriers],
        doc_md=DOC.format(id=shop.id, name=shop.name, schedule=shop.fulfilment.schedule,
                          stuck_days=shop.fulfilment.stuck_days,
                          carriers=" or ".join(f"{c.kind} (Connection `{c.conn_id}`)" for c in shop.carriers)),
    )
    def fulfilment():
        @task
        @shop_task
        def ship() -> dict | None:
            from shopsync.airflow.tasks import fulfilment_step

            return fulfilment_step(shop.id, "ship")

        @task
        @shop_task
        def track() -> dict | None:
            from shopsync.airflow.tasks import fulfilment_step

            return fulfilment_step(shop.id, "track")

        @task(trigger_rule="all_done")
        @shop_task
        def notify() -> dict | None:
            """After ship and track, failed or not: a waybill made before a later failure is still mailed."""
            from shopsync.airflow.tasks import fulfilment_step

            return fulfilment_step(shop.id, "notify")

        @task(outlets=[states_changed, stock_changed])
        @shop_task
        def signal_changes(shipped: dict | None, tracked: dict | None):
            """Emits the Assets only when invoices moved (channels push) or returns came back (stock)."""
            from shopsync.orders.fulfilment.run import moved_invoices, returned_goods

            if moved_invoices(shipped, tracked):
                yield Metadata(states_changed, {"shop": shop.id, "invoices": moved_invoices(shipped, tracked)})
            if returned_goods(tracked):
                yield Metadata(stock_changed, {"shop": shop.id, "returned": returned_goods(tracked)})

        @task(trigger_rule="all_done")
        @shop_task
        def report() -> dict:
            from shopsync.airflow.tasks import fulfilment_step

            run = get_current_context()["dag_run"]
            return fulfilment_step(shop.id, "report", since=run.start_date)

        shipped = ship()
        tracked = track()
        notified = notify()
        [shipped, tracked] >> notified
        signal_changes(shipped, tracked)
        notified >> report()

    return fulfilment()


for _shop in shops_to_build("fulfilment"):
    if _shop.carriers:
        globals()[f"shop_{_shop.id}__fulfilment"] = build_dag(_shop)
