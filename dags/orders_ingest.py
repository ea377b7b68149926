"""Orders ingest: one DAG per shop in include/shops/ (shop_<id>__orders_ingest).

Thin on purpose: the work is shopsync.orders.ingest; this file wires tasks.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, CronDataIntervalTimetable, Metadata, Param, dag, task

from shopsync.airflow.tasks import STOCK_CHANGED_ASSET, default_args, shop_task, shops_to_build
from shopsync.core.config import ShopSettings

DOC = """
### Orders ingest of shop `{id}` ({name})

Turns the order files {name} drops into its inbox into customers, invoices and
reservations in the accounting database, losing nothing and doubling nothing.

**Input**: the `{kind}` inbox `{path}` (format `{format}`: Torgsoft-compatible
JSON, Prom.ua, Rozetka or WooCommerce orders; `auto` detects). A file still being
written (size changing, temporary name, younger than {settle} s) waits for the next run.

**Per file**: parse -> each order in its own transaction (customer matched by phone, then
e-mail, when the name agrees; one invoice per order number, a resend with other content is a
conflict listed in the task's return value and `shopsync orders`; stock reserved from the shop's
warehouses; suspicious orders land flagged, see `order_checks`) -> the
file goes to `archive/` when every order landed, or to `quarantine/` with
`<file>.error.json` saying, per order, what was wrong. Good orders beside bad ones still land.

**Output**: when anything was reserved, the Asset `shopsync_stock_changed`, which makes
the catalog export of **every** shop refresh at once, so free stock drops everywhere.

**Schedule**: `{schedule}`. **By hand**: `shopsync ingest --shop {id} FILE... [--dry-run]`.
**Backfill**: `airflow backfill create --dag-id shop_{id}__orders_ingest --from-date ... --to-date ...
--reprocess-behavior completed` re-applies the archived files received in each interval;
their orders are recognised by number and skipped, missing ones land.
"""


def build_dag(shop: ShopSettings):
    stock_changed = Asset(name=STOCK_CHANGED_ASSET, uri="shopsync://stock/changed")

    @dag(
        dag_id=f"shop_{shop.id}__orders_ingest",
        description=f"Order files of {shop.name} -> customers, invoices, reservations",
        schedule=CronDataIntervalTimetable(shop.orders_inbox.schedule, timezone="UTC"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(shop),
        params={"reprocess_interval": Param(
            False, type="boolean",
            description="also re-apply the archived files received in this data interval (backfills do)")},
        tags=[f"shop:{shop.id}", "orders"],
        doc_md=DOC.format(
            id=shop.id, name=shop.name, kind=shop.orders_inbox.kind, path=shop.orders_inbox.path,
            format=shop.orders_inbox.format, settle=shop.orders_inbox.settle_seconds,
            schedule=shop.orders_inbox.schedule,
        ),
    )
    def orders_ingest():
        @task
        @shop_task
        def ingest_inbox(**context) -> dict:
            from shopsync.airflow.tasks import accounting_engine, ingest_run

            return ingest_run(shop.id, accounting_engine(), context)

        @task(outlets=[stock_changed])
        @shop_task
        def signal_stock_changed(ingested: dict):
            """Emits the Asset only when stock was reserved (skipped otherwise: no needless refresh)."""
            from airflow.sdk.exceptions import AirflowSkipException

            reserved = ingested["reserved_goods"]
            if not reserved:
                raise AirflowSkipException("nothing reserved: no stock refresh needed")
            yield Metadata(stock_changed, {"shop": shop.id, "goods": reserved[:1000], "count": len(reserved)})
            return {"goods": len(reserved)}

        signal_stock_changed(ingest_inbox())

    return orders_ingest()


for _shop in shops_to_build("orders_ingest"):
    globals()[f"shop_{_shop.id}__orders_ingest"] = build_dag(_shop)
