"""Catalog export: one DAG per shop in include/shops/ (shop_<id>__catalog_export).

Thin on purpose: every task calls a function of shopsync.catalog.pipeline; this
file only wires them. Nothing here touches the database or reads large files
at parse time.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, AssetOrTimeSchedule, CronDataIntervalTimetable, Metadata, Param, TaskGroup, dag, task

from shopsync.airflow.tasks import STOCK_CHANGED_ASSET, default_args, shop_task, shops_to_build
from shopsync.core.config import ShopSettings

DOC = """
### Catalog export of shop `{id}` ({name})

Keeps **{url}** in sync with the accounting database: goods with all their
characteristics, categories, free stock, prices (incl. wholesale tiers and promo
prices), resized photos, customers with discounts, and gift certificates.

**Inputs**: the accounting database (Airflow Connection `shopsync_accounting`,
or `SHOPSYNC_DB_URL`), shop settings `include/shops/{id}.yaml`.
**Outputs**: feeds {feeds} with `manifest.json` and photos, published to the
`{destination}` destination `{path}`; Asset `shop_{id}_feeds` (counts in its metadata).

**Stages**: `check_database` -> `extract` (only what changed in the data interval, plus a
small overlap; everything on the first run or with `full`) -> `transform` (photos,
merge into the shop's snapshot, write feeds; each marketplace feed with its own category map, and
its categories without a marketplace id listed, or blocking with `unmapped_categories: block`) ->
`validate` (Great Expectations: a failing feed is not published and the last good one stays) ->
`publish` (the whole set or nothing: see docs/operations.md, "Guarantees"; refused when a feed would lose more than
`max_drop_percent` of its offers or the destination shows newer data) -> `summary`.

**Schedule**: hourly data intervals (`{schedule}`), and at once whenever an order
ingest of any shop reserves stock (Asset `shopsync_stock_changed`).

**By hand**: trigger with `{{"full": true}}` to rebuild everything, `{{"allow_shrink": true}}` to
publish a catalog that shrank on purpose, or from a shell
`shopsync export --shop {id} [--full] [--dry-run] [--allow-shrink]`.
**Backfill** (safe to repeat; the same interval publishes the same content):

`airflow backfill create --dag-id shop_{id}__catalog_export --from-date 2026-11-01T00:00`
`--to-date 2026-11-01T03:00 --reprocess-behavior completed`
"""


def build_dag(shop: ShopSettings):
    feeds_asset = Asset(name=f"shop_{shop.id}_feeds", uri=f"shopsync://shops/{shop.id}/feeds")

    @dag(
        dag_id=f"shop_{shop.id}__catalog_export",
        description=f"Catalog feeds for {shop.name} ({shop.url})",
        schedule=AssetOrTimeSchedule(
            timetable=CronDataIntervalTimetable(shop.schedule, timezone="UTC"),
            assets=[Asset(name=STOCK_CHANGED_ASSET, uri="shopsync://stock/changed")],
        ),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(shop),
        params={
            "full": Param(False, type="boolean", description="re-extract everything instead of changes"),
            "allow_shrink": Param(False, type="boolean",
                                  description="publish even if a feed loses more than max_drop_percent of its offers"),
            "ignore_publish_order": Param(False, type="boolean", description=(
                "publish even if the destination shows data read later (after a database restore)")),
        },
        tags=[f"shop:{shop.id}", "catalog"],
        doc_md=DOC.format(
            id=shop.id, name=shop.name, url=shop.url, schedule=shop.schedule,
            feeds=", ".join(f"`{feed.profile}`" for feed in shop.feeds),
            destination=shop.destination.kind, path=shop.destination.path,
        ),
    )
    def catalog_export():
        @task
        @shop_task
        def check_database() -> dict:
            """Fail fast, with a clear message, when the accounting database does not answer."""
            from shopsync.airflow.tasks import accounting_engine
            from shopsync.core.health import table_counts

            return table_counts(accounting_engine())

        @task
        @shop_task
        def extract_dataset(dataset: str, **context) -> dict:
            from shopsync.airflow.tasks import accounting_engine, export_run
            from shopsync.catalog import pipeline

            return pipeline.extract_dataset(accounting_engine(), export_run(shop.id, context), dataset)

        @task
        @shop_task
        def extract_categories(**context) -> dict:
            from shopsync.airflow.tasks import accounting_engine, export_run
            from shopsync.catalog import pipeline

            return pipeline.extract_categories(accounting_engine(), export_run(shop.id, context))

        @task
        @shop_task
        def resize_photos(extracted: dict, **context) -> dict:
            from shopsync.airflow.tasks import export_run
            from shopsync.catalog import pipeline

            return pipeline.resize_photos(export_run(shop.id, context))

        @task
        @shop_task
        def merge_dataset(dataset: str, upstream: dict, **context) -> dict:
            from shopsync.airflow.tasks import export_run
            from shopsync.catalog import pipeline

            return pipeline.merge_dataset(export_run(shop.id, context), dataset)

        @task
        @shop_task
        def build_feeds(merged: list[dict], categories: dict, **context) -> dict:
            from shopsync.airflow.tasks import export_run
            from shopsync.catalog import pipeline

            return pipeline.build_feeds(export_run(shop.id, context))

        @task
        @shop_task
        def validate_feeds(built: dict, **context) -> dict:
            from shopsync.airflow.tasks import accounting_engine, export_run, silence_noisy_libraries
            from shopsync.catalog import pipeline

            silence_noisy_libraries()
            return pipeline.validate_feeds(export_run(shop.id, context), accounting_engine())

        @task(outlets=[feeds_asset])
        @shop_task
        def publish(validated: dict, **context):
            from shopsync.airflow.tasks import export_run
            from shopsync.catalog import pipeline

            published = pipeline.publish_feeds(export_run(shop.id, context))
            yield Metadata(feeds_asset, published["asset_extra"])
            return published

        @task
        @shop_task
        def summary(stage_results: list[dict], **context) -> dict:
            from shopsync.airflow.tasks import export_run
            from shopsync.catalog import pipeline

            return pipeline.summarise(export_run(shop.id, context), stage_results)

        checked = check_database()
        with TaskGroup("extract") as extract_group:
            goods = extract_dataset.override(task_id="goods")("goods")
            customers = extract_dataset.override(task_id="customers")("customers")
            certificates = extract_dataset.override(task_id="certificates")("certificates")
            categories = extract_categories.override(task_id="categories")()
        checked >> extract_group
        with TaskGroup("transform"):
            photos = resize_photos.override(task_id="photos")(goods)
            merged = [
                merge_dataset.override(task_id="merge_goods")("goods", photos),
                merge_dataset.override(task_id="merge_customers")("customers", customers),
                merge_dataset.override(task_id="merge_certificates")("certificates", certificates),
            ]
            built = build_feeds.override(task_id="write_feeds")(merged, categories)
        validated = validate_feeds.override(task_id="validate")(built)
        published = publish(validated)
        summary([goods, customers, certificates, categories, photos, *merged, built, validated, published])

    return catalog_export()


for _shop in shops_to_build("catalog_export"):
    globals()[f"shop_{_shop.id}__catalog_export"] = build_dag(_shop)
