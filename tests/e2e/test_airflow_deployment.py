"""A real deployment on this machine: api-server, scheduler, dag-processor, triggerer, two Celery workers.

Two shops share one accounting database. Through the REST API (/api/v2, as the admin user) the test
unpauses and triggers the DAGs and checks: both catalog exports succeed; an order file dropped into one
shop's inbox is ingested by the scheduled run; the Asset it emits refreshes both shops and the sold good's
free stock drops in both feeds; a backfill of three past hours republishes identical content; a task killed
with SIGKILL mid-run is retried and the run ends green with nothing lost or doubled.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from airflow_cluster import ROOT, AirflowCluster, poll

from shopsync import testing
from shopsync.seed import seed_database

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SHOPS = ("demo", "kyiv")
CATALOG = "shop_{}__catalog_export"
ORDERS = "shop_{}__orders_ingest"
CONTENT_FILES = ("TSGoods.trs", "rozetka.xml", "prom.xml", "woocommerce.csv", "customers.csv",
                 "wholesale_prices.csv", "gift_certificates.csv")
STEP_TIMES: dict[str, float] = {}


class Step:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.perf_counter()
        print(f"\n[e2e] {self.name} ...", flush=True)

    def __exit__(self, *exc):
        STEP_TIMES[self.name] = time.perf_counter() - self.started
        print(f"[e2e] {self.name}: {STEP_TIMES[self.name]:.1f} s", flush=True)


def shop_file(shop_id: str, local: Path) -> str:
    text = (ROOT / "include" / "shops" / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("id: demo", f"id: {shop_id}").replace(".local/shops/demo", str(local / "shops" / shop_id))
    text = text.replace('schedule: "*/5 * * * *"', 'schedule: "* * * * *"').replace("format: auto",
                                                                                   "format: auto\n  settle_seconds: 0")
    return text


def published(local: Path, shop_id: str) -> Path:
    return local / "shops" / shop_id / "published"


def content_digest(directory: Path) -> dict[str, str]:
    """Feed content: every file, with the YML header date (the publishing run's interval end) left out."""
    digests = {}
    for name in CONTENT_FILES:
        data = (directory / name).read_bytes()
        data = re.sub(rb'<yml_catalog date="[^"]*">', b"<yml_catalog>", data)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def feed_stock(directory: Path, good_id: int) -> int:
    with open(directory / "TSGoods.trs", encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row["GoodID"] == str(good_id):
                return int(row["WarehouseQuantity"])
    raise AssertionError(f"good {good_id} not in {directory / 'TSGoods.trs'}")


def a_good_in_stock(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT g.id FROM goods g JOIN free_stock f ON f.good_id = g.id AND f.warehouse_id IN (1, 2)"
            " JOIN prices p ON p.good_id = g.id AND p.price_type_id = 1 AND p.price > 0"
            " WHERE g.is_active AND g.is_visible GROUP BY g.id HAVING sum(f.free) >= 3 ORDER BY g.id LIMIT 1"
        )).scalar_one()


def order_file(good_id: int) -> bytes:
    order = {
        "Client": {"Name": "Бондар Оксана", "MPhone": "+38 (063) 555-12-34", "Місто": "Київ", "EMail": ""},
        "Options": {"OrderNumber": "E2E-1", "DeliveryAddress": "Відділення №7", "PaymentStatus": "cod"},
        "Goods": [{"GoodID": str(good_id), "Price": "100,00", "Count": "1"}],
    }
    return json.dumps([order], ensure_ascii=False).encode("utf-8")



def finished_run(cluster: AirflowCluster, dag_id: str, run_type: str, after: str | None = None) -> dict | None:
    for run in cluster.runs(dag_id):
        if run["run_type"] == run_type and run["state"] in ("success", "failed") and (
                after is None or run["run_after"] > after):
            return run
    return None


@pytest.fixture
def deployment(tmp_path):
    accounting_url = testing.create_schema_database("shopsync_e2e_acc")
    metadata_url = testing.create_database("shopsync_e2e_meta")
    local = tmp_path / "local"
    redis_db = 10 + os.getpid() % 5
    redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
    old_env = {key: os.environ.get(key) for key in ("SHOPSYNC_LOCAL_DIR", "SHOPSYNC_PHOTOS_DIR")}
    os.environ["SHOPSYNC_LOCAL_DIR"] = str(local)
    os.environ["SHOPSYNC_PHOTOS_DIR"] = str(local / "photos")
    engine = sa.create_engine(accounting_url)
    seed_database(engine, goods=250, seed=11)
    shops_dir = tmp_path / "shops"
    shops_dir.mkdir()
    for shop_id in SHOPS:
        (shops_dir / f"{shop_id}.yaml").write_text(shop_file(shop_id, local), encoding="utf-8")
    cluster = AirflowCluster(home=tmp_path / "airflow", metadata_url=metadata_url, accounting_url=accounting_url,
                             shops_dir=shops_dir, local_dir=local, redis_db=redis_db)
    try:
        with Step("start api-server, scheduler, dag-processor, triggerer, 2 celery workers"):
            cluster.start()
        yield cluster, engine, local
    finally:
        cluster.stop()
        engine.dispose()
        for key, value in old_env.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        testing.drop_database(accounting_url)
        testing.drop_database(metadata_url)
        print("\n[e2e] timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in
                                            {**cluster.timings, **STEP_TIMES}.items()), flush=True)


def test_the_pipelines_under_a_real_scheduler_and_celery_workers(deployment):
    cluster, engine, local = deployment
    dag_ids = [CATALOG.format(s) for s in SHOPS] + [ORDERS.format(s) for s in SHOPS]
    with Step("DAGs parsed by the dag-processor"):
        cluster.wait_for_dags(dag_ids)

    with Step("catalog export of both shops (triggered, full)"):
        runs = {}
        for shop in SHOPS:
            cluster.unpause(CATALOG.format(shop))
            runs[shop] = cluster.trigger(CATALOG.format(shop), {"full": True})
        for shop, run_id in runs.items():
            run = cluster.wait_for_run(CATALOG.format(shop), run_id, timeout=420)
            assert run["state"] == "success", cluster.all_log_tails()
            assert (published(local, shop) / "manifest.json").exists()

    good_id = a_good_in_stock(engine)
    stock_before = {shop: feed_stock(published(local, shop), good_id) for shop in SHOPS}
    last_catalog_run = {shop: cluster.runs(CATALOG.format(shop))[-1]["run_after"] for shop in SHOPS}

    with Step("order file ingested by the scheduled orders run"):
        inbox = local / "shops" / "demo" / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "e2e-order.json").write_bytes(order_file(good_id))
        old = time.time() - 120
        os.utime(inbox / "e2e-order.json", (old, old))
        cluster.unpause(ORDERS.format("demo"))
        run = poll(lambda: finished_run(cluster, ORDERS.format("demo"), "scheduled"), 300,
                   "a scheduled orders ingest run", cluster)
        assert run["state"] == "success", cluster.all_log_tails()
        assert (inbox / "archive" / "e2e-order.json").exists()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM invoices WHERE external_number = 'E2E-1'")).scalar() == 1

    with Step("stock refresh of both shops triggered by the Asset"):
        for shop in SHOPS:
            refresh = poll(lambda s=shop: finished_run(cluster, CATALOG.format(s), "asset_triggered",
                                                       last_catalog_run[s]), 420,
                           f"an asset-triggered catalog export of {shop}", cluster)
            assert refresh["state"] == "success", cluster.all_log_tails()
            assert feed_stock(published(local, shop), good_id) == stock_before[shop] - 1

    with Step("backfill of three past hours republishes identical content"):
        before_backfill = content_digest(published(local, "demo"))
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        cluster.airflow("backfill", "create", "--dag-id", CATALOG.format("demo"),
                        "--from-date", (hour - timedelta(hours=3)).isoformat(), "--to-date", hour.isoformat(),
                        "--reprocess-behavior", "completed", "--max-active-runs", "1")

        def backfill_done():
            runs = [r for r in cluster.runs(CATALOG.format("demo")) if r["run_type"] == "backfill"]
            return runs if len(runs) >= 3 and all(r["state"] in ("success", "failed") for r in runs) else None

        backfill_runs = poll(backfill_done, 600, "three backfill runs", cluster)
        assert [r["state"] for r in backfill_runs] == ["success"] * len(backfill_runs)
        assert content_digest(published(local, "demo")) == before_backfill

    with Step("a task killed with SIGKILL mid-run is retried; the run ends green"):
        rows_before = json.loads((published(local, "kyiv") / "manifest.json").read_text())["files"]
        run_id = cluster.trigger(CATALOG.format("kyiv"), {"full": True})

        def validate_task_pid():
            for ti in cluster.task_instances(CATALOG.format("kyiv"), run_id):
                if ti["task_id"] == "validate" and ti["state"] == "running" and ti.get("pid"):
                    return ti["pid"]
            return None

        pid = poll(validate_task_pid, 420, "the validate task to run", cluster, interval=0.5)
        os.kill(pid, signal.SIGKILL)
        run = cluster.wait_for_run(CATALOG.format("kyiv"), run_id, timeout=600)
        assert run["state"] == "success", cluster.all_log_tails()
        validate = next(ti for ti in cluster.task_instances(CATALOG.format("kyiv"), run_id)
                        if ti["task_id"] == "validate")
        assert validate["try_number"] >= 2
        rows_after = json.loads((published(local, "kyiv") / "manifest.json").read_text())["files"]
        assert {f["name"]: f["rows"] for f in rows_after} == {f["name"]: f["rows"] for f in rows_before}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM invoices")).scalar() == 1

    shot_to = os.environ.get("SHOPSYNC_E2E_SCREENSHOT")
    if shot_to:
        from screenshot import screenshot

        with Step("screenshot of the Grid view"):
            screenshot(f"{cluster.base_url}/dags/{CATALOG.format('demo')}", cluster.token(), cluster.base_url,
                       Path(shot_to))
            shutil.copy(Path(shot_to), local / "grid.png")
