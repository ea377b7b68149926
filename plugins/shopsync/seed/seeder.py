"""seed_database: fill the accounting database with deterministic synthetic data, COPY by COPY."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.db import copy_rows
from shopsync.core.paths import photos_dir
from shopsync.seed import catalog as cat
from shopsync.seed import goods as gd
from shopsync.seed import people
from shopsync.seed.photos import PHOTO_COLUMNS, build_photos

# Reference rows the schema itself inserts (price types) and the migration record survive a reseed.
KEEP_TABLES = ("schema_version", "price_types")
SEQUENCES = (("customers", "id"), ("gift_certificates", "id"))
# Tables whose foreign keys are suspended during the load: those with many rows per good.
BULK_TABLES = ("goods", "good_characteristics", "stock", "prices", "wholesale_tiers", "photos", "customer_phones")


@dataclass
class SeedSummary:
    goods: int
    seed: int
    counts: dict[str, int]                    # rows loaded per table, in load order
    photos_dir: Path
    photo_files: int
    missing_photo_rows: int
    corrupt_photo_rows: int
    zero_price_goods: list[int]
    timings: dict[str, float] = field(default_factory=dict)   # seconds per step, in step order

    def lines(self) -> list[str]:
        lines = [f"seed {self.seed}: rows per table"]
        lines += [f"  {table:<26} {count:>10,}" for table, count in self.counts.items()]
        lines.append(
            f"photos: {self.photo_files:,} files under {self.photos_dir}; {self.missing_photo_rows} rows name"
            f" missing files and {self.corrupt_photo_rows} corrupt ones (on purpose)"
        )
        shown = ", ".join(str(good_id) for good_id in self.zero_price_goods[:5])
        more = ", ..." if len(self.zero_price_goods) > 5 else ""
        count = len(self.zero_price_goods)
        lines.append(f"retail price 0 on purpose (export must reject): {count} goods ({shown}{more})")
        return lines


class StepTimer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


@dataclass
class SeedPlan:
    catalog: cat.Catalog
    models: list[gd.Model]
    customers: list[tuple]
    phones: list[tuple]
    certificates: list[tuple]


def seed_database(engine: Engine, goods: int, seed: int = 42, *, suspend_foreign_keys: bool = True) -> SeedSummary:
    """Replace all data in the accounting database with `goods` synthetic goods and what goes with them.

    Resets rather than refuses: every data table (all but schema_version and price_types, including
    orders, invoices and change_log) is TRUNCATEd with RESTART IDENTITY in the same transaction that
    loads the new rows, so running it twice works and a failure leaves the old data in place. The
    change-capture triggers stay on, so change_log ends up holding an insert for every seeded entity.
    Photo files are written under photos_dir()/seed/ (that subdirectory is replaced).

    With `suspend_foreign_keys` (the default) the foreign keys of the big tables are dropped for the
    COPYs and added back, each validated in one pass, before the same transaction commits: the
    PostgreSQL bulk-load recipe. Checked row by row they would cost about half of a 100k-goods seed.
    The schema after commit is the one before; other sessions wait on the TRUNCATE's locks anyway.

    Deterministic: the same `seed` and `goods` give identical rows in every table (apart from the
    created_at / updated_at / changed_at timestamps) and byte-identical photo files, given the same
    Faker and Pillow (libjpeg) versions. The categories, characteristic kinds and their assignment to
    categories do not depend on the seed at all.
    Deliberate defects for the export to catch are listed in the summary: goods with retail price 0
    (ids 777, 1777, ...; see goods.zero_price_good_ids) and photo rows naming missing or corrupt files.
    """
    if goods < 1:
        raise ValueError(f"goods must be at least 1, got {goods}")
    timer = StepTimer()
    plan = plan_seed(goods, seed, timer)
    with timer.step("photo files"):
        photos = build_photos(plan.models, seed, photos_dir())
    with engine.begin() as conn:
        with timer.step("truncate"):
            truncate_data_tables(conn)
        with foreign_keys_suspended(conn, BULK_TABLES, timer) if suspend_foreign_keys else nullcontext():
            counts = load_tables(conn, plan, seed, photos.rows, timer)
        advance_sequences(conn)
    with timer.step("analyze"):
        analyze(engine, [*counts, "change_log"])
    return SeedSummary(
        goods=goods,
        seed=seed,
        counts=counts,
        photos_dir=photos.directory,
        photo_files=photos.files_written,
        missing_photo_rows=photos.missing_rows,
        corrupt_photo_rows=photos.corrupt_rows,
        zero_price_goods=gd.zero_price_good_ids(goods),
        timings=timer.timings,
    )


def plan_seed(goods: int, seed: int, timer: StepTimer) -> SeedPlan:
    with timer.step("plan catalog and goods"):
        catalog = cat.build_catalog()
        models = gd.plan_models(catalog, goods, seed)
    with timer.step("plan customers and certificates"):
        customers, phones = people.build_customers(people.customer_count(goods), seed)
        certificates = people.build_certificates(people.certificate_count(goods), seed)
    return SeedPlan(catalog, models, customers, phones, certificates)


def load_tables(conn: sa.Connection, plan: SeedPlan, seed: int, photo_rows: list[tuple],
                timer: StepTimer) -> dict[str, int]:
    """COPY every table, parents before children; returns rows per table in load order."""
    counts: dict[str, int] = {}

    def load(table: str, columns: list[str], rows: Iterable[Sequence[object]]) -> None:
        with timer.step(f"copy {table}"):
            counts[table] = copy_rows(conn, table, columns, rows)

    catalog, models = plan.catalog, plan.models
    load("categories", cat.CATEGORY_COLUMNS, cat.category_rows(catalog))
    load("shop_category_map", cat.SHOP_CATEGORY_COLUMNS, cat.shop_category_rows(catalog))
    load("characteristic_kinds", cat.KIND_COLUMNS, cat.kind_rows(catalog))
    load("category_characteristics", cat.CATEGORY_KIND_COLUMNS, catalog.category_characteristic_pairs())
    load("model_groups", gd.MODEL_GROUP_COLUMNS, gd.model_group_rows(models))
    load("goods", gd.GOOD_COLUMNS, gd.good_rows(models, seed))
    load("good_characteristics", gd.CHARACTERISTIC_COLUMNS, gd.characteristic_rows(models))
    load("warehouses", gd.WAREHOUSE_COLUMNS, gd.WAREHOUSES)
    load("stock", gd.STOCK_COLUMNS, gd.stock_rows(models, seed))
    with timer.step("plan prices"):
        prices, tiers = gd.price_rows(models, seed)
    load("prices", gd.PRICE_COLUMNS, prices)
    load("wholesale_tiers", gd.TIER_COLUMNS, tiers)
    load("photos", PHOTO_COLUMNS, photo_rows)
    load("customers", people.CUSTOMER_COLUMNS, plan.customers)
    load("customer_phones", people.PHONE_COLUMNS, plan.phones)
    load("gift_certificates", people.CERTIFICATE_COLUMNS, plan.certificates)
    return counts


@contextmanager
def foreign_keys_suspended(conn: sa.Connection, tables: Sequence[str], timer: StepTimer) -> Iterator[None]:
    """Drop the foreign keys declared on `tables`, and add them back (validated) when the block ends.

    Definitions come from pg_constraint, so whatever the schema declares is restored verbatim.
    Must run inside a transaction, which a failed validation aborts.
    """
    found = conn.execute(sa.text(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[]))"
        " ORDER BY conrelid::regclass::text, conname"
    ), {"tables": list(tables)}).all()
    with timer.step("drop foreign keys"):
        for fk in found:
            conn.exec_driver_sql(f"ALTER TABLE {fk.tbl} DROP CONSTRAINT {quote_identifier(fk.conname)}")
    yield
    with timer.step("restore foreign keys"):
        for fk in found:
            conn.exec_driver_sql(
                f"ALTER TABLE {fk.tbl} ADD CONSTRAINT {quote_identifier(fk.conname)} {fk.definition}"
            )


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def truncate_data_tables(conn: sa.Connection) -> None:
    tables = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )).scalars().all()
    data_tables = [table for table in tables if table not in KEEP_TABLES]
    conn.execute(sa.text(f"TRUNCATE {', '.join(data_tables)} RESTART IDENTITY CASCADE"))


def advance_sequences(conn: sa.Connection) -> None:
    """Rows were loaded with explicit ids: move the serial sequences past them for later inserts."""
    for table, column in SEQUENCES:
        conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
            f" coalesce(max({column}), 0) + 1, false) FROM {table}"
        ))


def analyze(engine: Engine, tables: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"ANALYZE {', '.join(tables)}"))
