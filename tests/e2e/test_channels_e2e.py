"""The channel sync DAGs under a real deployment: api-server, scheduler, dag-processor, triggerer, two Celery
workers, with fake Prom, Rozetka and WooCommerce servers running as processes of their own.

One shop sells on the three channels (Connections `AIRFLOW_CONN_E2E_*` in the cluster's environment point at
the fakes). The test checks (issue 13):
- a Prom order is pulled by the scheduled prom sync run, reserved, and pushed back as accepted (`received`),
  the status sent once however many runs follow;
- a Rozetka order pulled by the scheduled rozetka sync run moves the stock-changed Asset, and the
  asset-triggered woocommerce sync run (its own schedule is yearly, so no other run can do it) pushes the
  good's new free stock: the WooCommerce fake holds it, and so does the Prom fake. The seconds from the
  order to each fake holding the new stock are printed (`[e2e] order -> other channel's stock: ...`) with a
  timeline of the runs, and recorded in docs/benchmarks.md;
- no fake's token, password or consumer key/secret is in any log the deployment wrote.
"""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
import sqlalchemy as sa
from airflow_cluster import AirflowCluster, poll, say

from shopsync import testing
from shopsync.seed import seed_database

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SHOP = "chan"
SYNC = "shop_" + SHOP + "__{}_sync"
CHANNELS = ("prom", "rozetka", "woocommerce")
WAREHOUSES = (1, 2)
WOO_PRODUCT_BASE = 1000          # the WooCommerce fake's product id of good g: 1000 + g (SKU good-<g>)
STOCK_BOUND_SECONDS = 120        # generous: the target is 30 s (docs/benchmarks.md); CI machines are slow



def shop_file(local: Path) -> str:
    """Prom and Rozetka pulled every minute; WooCommerce only pushes, asset-triggered (its own schedule is
    yearly). Price checks off: the fakes sell every good at 100."""
    base = local / "shops" / SHOP
    return f"""id: {SHOP}
name: "E2E: канали"
url: https://channels.shopsync.example
currency: UAH
warehouses: [{", ".join(map(str, WAREHOUSES))}]
feeds:
  - profile: prom_yml
destination: {{kind: local, path: "{base / 'published'}"}}
orders_inbox: {{kind: local, path: "{base / 'inbox'}", schedule: "0 3 1 1 *"}}
order_checks: {{min_price_share: 0}}
channels:
  - {{kind: prom, conn_id: e2e_prom, schedule: "* * * * *"}}
  - {{kind: rozetka, conn_id: e2e_rozetka, schedule: "* * * * *"}}
  - {{kind: woocommerce, conn_id: e2e_woo, schedule: "0 3 1 1 *"}}
"""


# --- the fakes ------------------------------------------------------------------------------------


def published_goods(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT g.id FROM goods g JOIN prices p ON p.good_id = g.id AND p.currency = 'UAH'"
            " AND p.price_type_id = (SELECT id FROM price_types WHERE code = 'retail') AND p.price > 0"
            " WHERE g.is_active AND g.is_visible ORDER BY g.id")).scalars())


def goods_in_stock(engine: sa.Engine, count: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT g.id FROM goods g JOIN free_stock f ON f.good_id = g.id AND f.warehouse_id = ANY(:w)"
            " JOIN prices p ON p.good_id = g.id AND p.price_type_id = 1 AND p.price > 0"
            " WHERE g.is_active AND g.is_visible GROUP BY g.id HAVING sum(f.free) >= 3 ORDER BY g.id LIMIT :n"),
            {"w": list(WAREHOUSES), "n": count}).scalars())


def free_stock(engine: sa.Engine, good_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT greatest(floor(coalesce(sum(free), 0)), 0) FROM free_stock"
            " WHERE good_id = :g AND warehouse_id = ANY(:w)"), {"g": good_id, "w": list(WAREHOUSES)}).scalar_one())


def write_fake_states(directory: Path, good_ids: list[int]) -> dict[str, Path]:
    """State files the fakes start from: a Prom product per good (external id = good id) and a WooCommerce
    product per good (SKU good-<id>), stock 0, so the first push has every good to change."""
    from fake_prom import FakeProm
    from fake_woocommerce import FakeWooCommerce

    paths = {channel: directory / f"{channel}-state.json" for channel in CHANNELS}
    prom = FakeProm(paths["prom"])
    for good_id in good_ids:
        prom.products[str(good_id)] = {"id": 5000 + good_id, "external_id": str(good_id),
                                       "name": f"Товар {good_id}", "price": 0.0, "quantity_in_stock": 0,
                                       "presence": "not_available"}
    prom.save()
    woo = FakeWooCommerce(paths["woocommerce"])
    for good_id in good_ids:
        woo.add_product(f"good-{good_id}", f"Товар {good_id}", "0", 0, product_id=WOO_PRODUCT_BASE + good_id)
    woo.save()
    return paths


def connection_env(fakes: dict[str, Any]) -> dict[str, str]:
    """The Connections of the shop file, as JSON in AIRFLOW_CONN_* (host and port of each fake, `schema: http`)."""
    from fake_prom import TOKEN
    from fake_rozetka import PASSWORD, USERNAME
    from fake_woocommerce import CONSUMER_KEY, CONSUMER_SECRET

    def conn(channel: str, **secrets: str) -> str:
        url = urlsplit(fakes[channel].base_url)
        return json.dumps({"conn_type": "http", "host": url.hostname, "port": url.port, "schema": "http", **secrets})

    return {"AIRFLOW_CONN_E2E_PROM": conn("prom", password=TOKEN),
            "AIRFLOW_CONN_E2E_ROZETKA": conn("rozetka", login=USERNAME, password=PASSWORD),
            "AIRFLOW_CONN_E2E_WOO": conn("woocommerce", login=CONSUMER_KEY, password=CONSUMER_SECRET)}


def fake_secrets() -> dict[str, str]:
    from fake_prom import TOKEN
    from fake_rozetka import PASSWORD, TOKEN_PREFIX
    from fake_woocommerce import CONSUMER_KEY, CONSUMER_SECRET

    return {"prom token": TOKEN, "rozetka password": PASSWORD,
            "rozetka password (base64)": base64.b64encode(PASSWORD.encode()).decode(),
            "rozetka access token": TOKEN_PREFIX, "woocommerce consumer key": CONSUMER_KEY,
            "woocommerce consumer secret": CONSUMER_SECRET,
            "woocommerce basic auth": base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()}


def add_order(fake: Any, **order: Any) -> dict[str, Any]:
    response = requests.post(f"{fake.base_url}/_fake/orders", json=order, timeout=10)
    response.raise_for_status()
    return response.json()


def woo_stock(fake: Any, good_id: int) -> int | None:
    product = next((p for p in fake.state()["products"] if p["id"] == WOO_PRODUCT_BASE + good_id), None)
    return None if product is None else product["stock_quantity"]


def prom_stock(fake: Any, good_id: int) -> int | None:
    product = next((p for p in fake.state()["products"] if p["external_id"] == str(good_id)), None)
    return None if product is None else product["quantity_in_stock"]


# --- waiting and reading the runs -------------------------------------------------------------------



def moment(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def first_task_started_after(cluster: AirflowCluster, dag_id: str, task_id: str,
                             after: float) -> tuple[dict, dict] | None:
    """(run, task instance) of the earliest `task_id` that started at or after `after` (epoch seconds)."""
    found = []
    for run in cluster.runs(dag_id):
        if (moment(run.get("end_date")) or time.time()) < after:
            continue
        for ti in cluster.task_instances(dag_id, run["dag_run_id"]):
            started = moment(ti.get("start_date"))
            if ti["task_id"] == task_id and started is not None and started >= after:
                found.append((run, ti))
    return min(found, key=lambda pair: moment(pair[1]["start_date"]) or 0) if found else None


def idle(cluster: AirflowCluster, dag_id: str) -> bool:
    return all(run["state"] in ("success", "failed") for run in cluster.runs(dag_id))


def asset_handled(cluster: AirflowCluster, source: str) -> bool:
    """Whether an asset-triggered woocommerce run queued after the last Asset event of `source` has finished."""
    emitted = [moment(ti["start_date"]) or 0 for run in cluster.runs(SYNC.format(source))
               for ti in cluster.task_instances(SYNC.format(source), run["dag_run_id"])
               if ti["task_id"] == "signal_stock_changed" and ti["state"] == "success"]
    if not emitted:
        return False
    return any(run["run_type"] == "asset_triggered" and run["state"] in ("success", "failed")
               and (moment(run.get("queued_at")) or 0) >= max(emitted)
               for run in cluster.runs(SYNC.format("woocommerce")))


def failed_runs(cluster: AirflowCluster) -> list[str]:
    return [f"{SYNC.format(c)} {run['dag_run_id']}" for c in CHANNELS for run in cluster.runs(SYNC.format(c))
            if run["state"] == "failed"]


def log_text(cluster: AirflowCluster) -> tuple[str, int]:
    """Everything the deployment logged (task logs and process output), and how many task logs there are."""
    files = [path for path in (cluster.home / "logs").rglob("*") if path.is_file()]
    task_logs = [path for path in files if "dag_id=" in str(path)]
    return "\n".join(path.read_text(errors="replace") for path in files), len(task_logs)


# --- the deployment ---------------------------------------------------------------------------------


@pytest.fixture
def channels_deployment(tmp_path):
    from fake_channels import start_fake_process

    accounting_url = testing.create_schema_database("shopsync_e2e_ch_acc")
    metadata_url = testing.create_database("shopsync_e2e_ch_meta")
    local = tmp_path / "local"
    redis_db = 5 + os.getpid() % 5          # the other e2e test uses 10-14
    redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
    old_env = {key: os.environ.get(key) for key in ("SHOPSYNC_LOCAL_DIR", "SHOPSYNC_PHOTOS_DIR")}
    os.environ["SHOPSYNC_LOCAL_DIR"] = str(local)
    os.environ["SHOPSYNC_PHOTOS_DIR"] = str(local / "photos")
    engine = sa.create_engine(accounting_url)
    fakes: dict[str, Any] = {}
    cluster: AirflowCluster | None = None
    try:
        seed_database(engine, goods=250, seed=11)
        states = write_fake_states(tmp_path, published_goods(engine))
        for channel in CHANNELS:
            fakes[channel] = start_fake_process(channel, states[channel])
        shops_dir = tmp_path / "shops"
        shops_dir.mkdir()
        (shops_dir / f"{SHOP}.yaml").write_text(shop_file(local), encoding="utf-8")
        cluster = AirflowCluster(home=tmp_path / "airflow", metadata_url=metadata_url, accounting_url=accounting_url,
                                 shops_dir=shops_dir, local_dir=local, redis_db=redis_db,
                                 extra_env=connection_env(fakes))
        started = time.perf_counter()
        say("start api-server, scheduler, dag-processor, triggerer, 2 celery workers ...")
        cluster.start()
        say(f"cluster healthy: {time.perf_counter() - started:.1f} s")
        yield cluster, engine, fakes
    finally:
        if cluster is not None:
            cluster.stop()
            say("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in cluster.timings.items()))
        for fake in fakes.values():
            fake.stop()
        engine.dispose()
        for key, value in old_env.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        testing.drop_database(accounting_url)
        testing.drop_database(metadata_url)


def test_channels_under_a_real_scheduler_and_celery_workers(channels_deployment):
    cluster, engine, fakes = channels_deployment
    prom, rozetka, woo = fakes["prom"], fakes["rozetka"], fakes["woocommerce"]
    cluster.wait_for_dags([SYNC.format(channel) for channel in CHANNELS])
    prom_good, rozetka_good = goods_in_stock(engine, 2)

    # Flow 1: a Prom order pulled by the scheduled run, reserved, pushed back as accepted.
    started = time.perf_counter()
    prom_order = add_order(prom, status="pending", products=[[str(prom_good), 1]])
    for channel in ("woocommerce", "rozetka", "prom"):
        cluster.unpause(SYNC.format(channel))

    def invoice_status(number: str) -> str | None:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT status FROM invoices WHERE shop_id = :s AND external_number = :n"),
                                {"s": SHOP, "n": number}).scalar()

    poll(lambda: invoice_status(f"PROM-{prom_order['id']}") == "reserved", 300, "the Prom order reserved", cluster)
    poll(lambda: next(o for o in prom.state()["orders"] if o["id"] == prom_order["id"])["status"] == "received",
         180, "the Prom order shown as received in the fake", cluster)
    say(f"Prom order pulled, reserved, pushed back as received: {time.perf_counter() - started:.1f} s")
    # the asset it moved runs the woocommerce sync: its first push sends every good (the warm-up)
    expected = free_stock(engine, prom_good)
    poll(lambda: woo_stock(woo, prom_good) == expected, 300, "the WooCommerce fake to hold the Prom sale", cluster)
    say(f"WooCommerce holds the stock after the Prom sale: {time.perf_counter() - started:.1f} s")
    # the Asset of the Prom sale handled and nothing running, so that the figure below is the Rozetka order's
    poll(lambda: asset_handled(cluster, "prom") and all(idle(cluster, SYNC.format(c)) for c in CHANNELS), 300,
         "the Prom sale's Asset handled by an asset-triggered woocommerce run, every sync idle", cluster, 1.0)

    # Flow 2: a Rozetka order -> the stock-changed Asset -> the asset-triggered woocommerce sync pushes stock.
    before = free_stock(engine, rozetka_good)
    poll(lambda: woo_stock(woo, rozetka_good) == before and prom_stock(prom, rozetka_good) == before, 180,
         "both fakes to hold the stock of the good the Rozetka order will take", cluster)
    placed = time.time()
    rozetka_order = add_order(rozetka, status=1, products=[[str(rozetka_good), 1]])
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 240
    while len(seen) < 2 and time.monotonic() < deadline:
        for name, stock in (("woocommerce", woo_stock), ("prom", prom_stock)):
            if name not in seen and stock(fakes[name], rozetka_good) == before - 1:
                seen[name] = time.time() - placed
        time.sleep(0.5)
    assert "woocommerce" in seen, f"the WooCommerce fake never held the new stock\n{cluster.all_log_tails()}"
    say(f"order -> other channel's stock: {seen['woocommerce']:.1f} s (WooCommerce; Prom: "
        f"{seen.get('prom', float('nan')):.1f} s; target 30 s)")
    timeline = stock_timeline(cluster, placed)
    say("timeline, seconds after the order: " + ", ".join(f"{k} {v:.1f}" for k, v in timeline.items()))
    print_runs(cluster, placed)

    assert invoice_status(f"RZ-{rozetka_order['id']}") == "reserved"
    woo_run = first_task_started_after(cluster, SYNC.format("woocommerce"), "push_stock", placed)
    assert woo_run is not None and woo_run[0]["run_type"] == "asset_triggered", woo_run
    assert "prom" in seen, "the Prom fake never held the new stock"
    assert seen["woocommerce"] < STOCK_BOUND_SECONDS
    poll(lambda: asset_handled(cluster, "rozetka"), 180, "the Rozetka order's Asset handled by woocommerce", cluster)
    poll(lambda: next(o for o in rozetka.state()["orders"] if o["id"] == rozetka_order["id"])["status"] == 26,
         180, "the Rozetka order shown as processed (26)", cluster)

    # each state once: however many prom runs followed, `received` went out once
    for channel in CHANNELS:
        poll(lambda c=channel: idle(cluster, SYNC.format(c)), 180, f"the {channel} sync to be idle", cluster)
    pushes = [r for r in prom.state()["requests"] if r["path"] == "/api/v1/orders/set_status"
              and prom_order["id"] in ((r.get("json") or {}).get("ids") or [])]
    assert [r["json"]["status"] for r in pushes] == ["received"], pushes
    assert failed_runs(cluster) == []

    text, task_logs = log_text(cluster)
    assert task_logs > 0, "no task logs found under the deployment's logs directory"
    leaked = [name for name, secret in fake_secrets().items() if secret in text]
    assert leaked == [], f"secrets in the deployment's logs: {leaked}"


def stock_timeline(cluster: AirflowCluster, placed: float) -> dict[str, float]:
    """When each step of the order's way happened (REST API times), in seconds after the order was placed."""
    marks: dict[str, float | None] = {}
    pulled = first_task_started_after(cluster, SYNC.format("rozetka"), "pull_orders", placed)
    if pulled is not None:
        run, ti = pulled
        marks["rozetka run due (cron tick)"] = moment(run.get("run_after"))
        marks["rozetka run started"] = moment(run.get("start_date"))
        marks["pull_orders started"] = moment(ti.get("start_date"))
        marks["pull_orders ended"] = moment(ti.get("end_date"))
        signal = next((t for t in cluster.task_instances(SYNC.format("rozetka"), run["dag_run_id"])
                       if t["task_id"] == "signal_stock_changed"), {})
        marks["asset event (signal ended)"] = moment(signal.get("end_date"))
    pushed = first_task_started_after(cluster, SYNC.format("woocommerce"), "push_stock", placed)
    if pushed is not None:
        run, ti = pushed
        marks["woocommerce run queued"] = moment(run.get("queued_at"))
        marks["woocommerce run started"] = moment(run.get("start_date"))
        marks["push_stock started"] = moment(ti.get("start_date"))
        marks["push_stock ended"] = moment(ti.get("end_date"))
    return {name: value - placed for name, value in marks.items() if value is not None}


def print_runs(cluster: AirflowCluster, placed: float) -> None:
    """Every sync run (type, queued / started / ended in seconds after the order, state, whether it emitted the
    Asset): what the timeline above was made of."""
    def at(text: str | None) -> str:
        value = moment(text)
        return "-" if value is None else f"{value - placed:+.1f}"

    for channel in CHANNELS:
        for run in cluster.runs(SYNC.format(channel)):
            signal = next((ti["state"] for ti in cluster.task_instances(SYNC.format(channel), run["dag_run_id"])
                           if ti["task_id"] == "signal_stock_changed"), None)
            say(f"  {channel:11} {run['run_type']:15} queued {at(run.get('queued_at'))} started "
                f"{at(run.get('start_date'))} ended {at(run.get('end_date'))} {run['state']} signal {signal}")
