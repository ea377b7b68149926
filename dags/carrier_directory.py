"""Carrier directory: one DAG per carrier with a directory that any shop uses (carrier_directory__<kind>).

Thin on purpose: the work is shopsync.carriers.directory.refresh.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, task

from shopsync.airflow.tasks import carrier_directories_to_build, default_args, shop_task
from shopsync.core.config import ShopSettings

SCHEDULE = "0 3 * * 1"
DOC = """
### {name} directory of cities and branches

Copies {name}'s lists of cities and branches (Airflow Connection `{conn_id}`, the one of shop `{shop}`, the
first shop using {name}) into `carrier_cities` and `carrier_branches`. Waybills are addressed from this copy:
the city and branch an order names (or the marketplace's branch id) are looked up here, never sent as free text.

1. **Refresh**: the lists are read page by page and written in batches, in one transaction. New cities and
   branches are added, changed ones updated, ones {name} no longer lists become inactive (kept: older
   invoices name them). A row in `carrier_directory_refreshes` records each refresh.
2. **Guard**: an answer that would close more than half of the open cities or branches is refused and
   nothing changes (a broken answer must not wipe the directory). The task fails at once with one alert; if
   {name} really did close them: `shopsync carriers refresh --kind {kind} --allow-shrink`.
   A carrier that fails part way (timeouts) changes nothing either; the task retries.

**Schedule**: `{schedule}` (Mondays 03:00 UTC): branches open and close every week.
**By hand**: `shopsync carriers refresh --kind {kind}` (after a new shop with this carrier, or when an
invoice is flagged with a branch that has just opened); `shopsync carriers find --kind {kind} --city C
--branch B` shows what an order's place resolves to.
**Backfill**: not needed. Every run copies the whole directory as it is now.
"""


def build_dag(kind: str, shop: ShopSettings):
    from shopsync.carriers.base import carrier_name

    @dag(
        dag_id=f"carrier_directory__{kind}",
        description=f"{carrier_name(kind)} cities and branches into the local directory",
        schedule=CronTriggerTimetable(SCHEDULE, timezone="UTC"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(shop),
        tags=["carriers", kind],
        doc_md=DOC.format(name=carrier_name(kind), kind=kind, conn_id=shop.carrier(kind).conn_id, shop=shop.id,
                          schedule=SCHEDULE),
    )
    def carrier_directory():
        @task
        @shop_task
        def refresh() -> dict:
            from shopsync.airflow.tasks import directory_refresh

            return directory_refresh(kind)

        refresh()

    return carrier_directory()


for _kind, _shop in carrier_directories_to_build():
    globals()[f"carrier_directory__{_kind}"] = build_dag(_kind, _shop)
