"""The goods extract (COPY per chunk of goods into Arrow) against a real database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pytest
import sqlalchemy as sa

from shopsync.catalog import extract, pipeline, snapshot
from shopsync.catalog.run import ExportRun
from shopsync.core.config import ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.seed import seed_database

GOODS = 120
WAREHOUSES = [1, 2]


@pytest.fixture
def seeded(engine, local_dir):                  # local_dir: the seed's photo pool goes to a temporary directory
    seed_database(engine, goods=GOODS, seed=11)
    return engine


def read_goods(engine, scope: extract.Scope, currency: str = "UAH", tuning: Tuning = DEFAULT_TUNING) -> pa.Table:
    conn = extract.consistent_read(engine)
    try:
        return pa.Table.from_batches(list(extract.goods_batches(conn, scope, currency, WAREHOUSES, tuning)),
                                     snapshot.GOODS_SCHEMA)
    finally:
        conn.rollback()
        conn.close()


def execute(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_incremental_extract_of_ids_equals_those_rows_of_a_full_extract(seeded):
    chunked = DEFAULT_TUNING.but(extract_goods_chunk=17)            # several chunks, boundaries anywhere
    full = read_goods(seeded, extract.Scope(), tuning=chunked)
    assert full.column("good_id").to_pylist() == list(range(1, GOODS + 1))
    assert full.schema.equals(snapshot.GOODS_SCHEMA)

    ids = [117, 3, 1, 17, 18, 34, 35, 60, 3, GOODS, GOODS + 5, 99_999]  # unsorted, a duplicate, unknown ids
    incremental = read_goods(seeded, extract.Scope(ids=ids), tuning=chunked)
    assert incremental.equals(full.filter(pc.is_in(full.column("good_id"), pa.array(ids, pa.int64()))))

    one_chunk = DEFAULT_TUNING.but(extract_goods_chunk=10_000)      # one chunk: the same rows
    assert read_goods(seeded, extract.Scope(), tuning=one_chunk).equals(full)
    assert read_goods(seeded, extract.Scope(ids=[])).num_rows == 0


def test_extract_dataset_writes_the_batches_as_the_snapshot_schema(seeded, local_dir):
    tuning = DEFAULT_TUNING.but(extract_goods_chunk=25, snapshot_file_rows=10)   # file batches cut across chunks
    settings = ShopSettings.model_validate({
        "id": "demo", "name": "Demo", "url": "https://demo.example", "warehouses": WAREHOUSES,
        "feeds": [{"profile": "rozetka_yml"}],
        "destination": {"kind": "local", "path": str(local_dir / "published")},
        "orders_inbox": {"kind": "local", "path": str(local_dir / "inbox")},
    })
    now = datetime.now(UTC).replace(microsecond=0)
    run = ExportRun(shop=settings, interval_start=now, interval_end=now, full=True, tuning=tuning)
    result = pipeline.extract_dataset(seeded, run, "goods")
    assert result["rows_read"] == GOODS
    written = ipc.open_file(run.workspace.changes(run.key, "goods"))
    assert written.schema.equals(snapshot.GOODS_SCHEMA)
    sizes = [written.get_batch(i).num_rows for i in range(written.num_record_batches)]
    assert max(sizes) == 10 and sum(sizes) == GOODS
    assert written.read_all().equals(read_goods(seeded, extract.Scope()))


def test_null_and_empty_text_stay_apart_and_goods_without_children_get_empty_lists(seeded):
    execute(seeded, "UPDATE goods SET description = NULL, brand = '', name = 'NULL', country = ' ',"
                    " collection = :tricky, barcode = NULL, size = '' WHERE id = 1", tricky='a,"b"\nc\\N;')
    execute(seeded, "UPDATE good_characteristics SET unit = '' WHERE good_id = 1"
                    " AND kind_id = (SELECT min(kind_id) FROM good_characteristics WHERE good_id = 1)")
    execute(seeded, "UPDATE good_characteristics SET value = :tricky WHERE good_id = 1"
                    " AND kind_id = (SELECT max(kind_id) FROM good_characteristics WHERE good_id = 1)",
            tricky='"quoted", \r\n and ""')
    for table in ("good_characteristics", "photos", "stock", "wholesale_tiers", "prices"):
        execute(seeded, f"DELETE FROM {table} WHERE good_id = 2")

    rows = {row["good_id"]: row for row in read_goods(seeded, extract.Scope(ids=[1, 2])).to_pylist()}
    full = {row["good_id"]: row for row in read_goods(seeded, extract.Scope()).to_pylist() if row["good_id"] <= 2}
    assert rows == full

    good = rows[1]
    assert (good["description"], good["brand"], good["name"], good["country"]) == (None, "", "NULL", " ")
    assert (good["collection"], good["barcode"], good["size"]) == ('a,"b"\nc\\N;', None, "")
    with seeded.connect() as conn:
        characteristics = [row._asdict() for row in conn.execute(sa.text(
            "SELECT k.name, gc.value, COALESCE(gc.unit, k.unit) AS unit, k.slug FROM good_characteristics gc"
            " JOIN characteristic_kinds k ON k.id = gc.kind_id WHERE gc.good_id = 1 ORDER BY k.id"))]
        price = conn.execute(sa.text(
            "SELECT price FROM prices WHERE good_id = 1 AND currency = 'UAH'"
            " AND price_type_id = (SELECT id FROM price_types WHERE code = 'retail')")).scalar()
    assert good["characteristics"] == characteristics
    assert characteristics[0]["unit"] == "" and characteristics[-1]["value"] == '"quoted", \r\n and ""'
    assert isinstance(good["price"], Decimal) and good["price"] == price
    assert good["warehouses"] and all(isinstance(w["free"], Decimal) for w in good["warehouses"])

    bare = rows[2]
    assert (bare["characteristics"], bare["warehouses"], bare["tiers"], bare["photos"]) == ([], [], [], [])
    assert (bare["price"], bare["old_price"], bare["wholesale_price"]) == (None,) * 3


def test_parameters_are_literals_not_sql(seeded):
    hostile = "UAH'); DROP TABLE goods; --"
    goods = read_goods(seeded, extract.Scope(ids=[1, 2]), currency=hostile)
    assert goods.num_rows == 2
    assert goods.column("price").null_count == 2 and goods.column("tiers").to_pylist() == [[], []]
    with seeded.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM goods")).scalar() == GOODS
