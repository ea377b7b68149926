"""`shopsync demo`: the main job end to end on the demo shop, with real `airflow dags test` runs.

Database (embedded unless SHOPSYNC_DB_URL) -> schema -> seed (when empty) -> catalog export DAG ->
sample order files in the inbox (one good, one re-sent, one broken) -> orders ingest DAG ->
catalog export DAG again (stock refresh) -> one order shipped with a fake Nova Poshta, delivered and its
cash on delivery paid (demo/fulfilment.py) -> what happened and where the results are.
Running it twice works: the seed is kept, re-sent orders are recognised and skipped.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings, get_shop
from shopsync.core.errors import ShopsyncError
from shopsync.core.paths import project_root
from shopsync.transport.open import resolve_local_path

DEMO_SHOP = "demo"
DEMO_GOODS = 300
OLD_MTIME = time.time() - 3600    # sample files look settled, so the first ingest run takes them


def airflow_env(db_url: str) -> dict[str, str]:
    root = project_root()
    venv_bin = str(Path(sys.executable).parent)
    airflow_home = os.environ.get("AIRFLOW_HOME", str(root / "airflow_home"))
    return {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        # Not our package directory: Airflow imports every file of its plugins folder as a top-level module.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(Path(airflow_home) / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "SHOPSYNC_DB_URL": db_url,
        "PYTHONWARNINGS": "ignore",
    }


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run_airflow(args: list[str], env: dict[str, str], log_path: Path) -> None:
    """Run an `airflow` command; its (long) output goes to a log file, a failure shows the tail."""
    started = time.perf_counter()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        result = subprocess.run(["airflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    took = time.perf_counter() - started
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise ShopsyncError(f"`airflow {' '.join(args)}` failed after {took:.0f} s; log {log_path}:\n{tail}")
    print(f"    airflow {' '.join(args[:3])} ... ok in {took:.1f} s (log: {log_path})")


def dags_test(dag_id: str, env: dict[str, str], logs: Path, conf: dict | None = None) -> None:
    logical_date = datetime.now(UTC).replace(microsecond=0).isoformat()
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["-c", json.dumps(conf)]
    run_airflow(args, env, logs / f"{dag_id}-{logical_date.replace(':', '')}.log")


def ensure_seeded(engine: Engine) -> bool:
    from shopsync.core.schema import init_schema
    from shopsync.seed import seed_database

    init_schema(engine)
    with engine.connect() as conn:
        goods = conn.execute(sa.text("SELECT count(*) FROM goods")).scalar_one()
    if goods:
        print(f"    the database already holds {goods:,} goods; keeping them")
        return False
    summary = seed_database(engine, goods=DEMO_GOODS, seed=42)
    for line in summary.lines():
        print(f"    {line}")
    return True


def run_shopsync(args: list[str], env: dict[str, str]) -> str:
    """A `shopsync` command as a person types it; its output (a failure raises with it)."""
    command = [str(Path(sys.executable).parent / "shopsync"), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ShopsyncError(f"`shopsync {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def goods_in_stock(engine: Engine, shop: ShopSettings, limit: int = 4) -> list[tuple[int, str, str]]:
    """Goods the demo orders buy: priced, visible, with free stock in the shop's warehouses."""
    query = sa.text("""
        SELECT g.id, g.name, p.price::text AS price
        FROM goods g JOIN free_stock f ON f.good_id = g.id AND f.warehouse_id = ANY(:warehouses)
        JOIN prices p ON p.good_id = g.id AND p.price_type_id = 1 AND p.price > 0
        WHERE g.is_active AND g.is_visible
        GROUP BY g.id, g.name, p.price HAVING sum(f.free) >= 2
        ORDER BY g.id LIMIT :limit""")
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query, {"warehouses": shop.warehouses or [1, 2, 3],
                                                          "limit": limit})]


def goods_of_earlier_demo_orders(engine: Engine, shop: ShopSettings) -> list[tuple[int, str, str]]:
    """The goods and prices of the demo orders an earlier run applied, in order: a second run re-sends the
    same orders (skipped), not other content under the same numbers (which would be conflicts)."""
    query = sa.text("""
        SELECT l.good_id, g.name, l.ordered_price::text AS price
        FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id AND l.line_no = 1
        JOIN goods g ON g.id = l.good_id
        WHERE i.shop_id = :shop AND i.external_number IN ('DEMO-1', 'DEMO-2', 'DEMO-3')
        ORDER BY i.external_number""")
    with engine.connect() as conn:
        found = [tuple(row) for row in conn.execute(query, {"shop": shop.id})]
    return found if len(found) == 3 else []


def sample_orders(goods: list[tuple[int, str, str]]) -> list[dict]:
    customers = [
        ("Шевченко Олена Василівна", "+38 (050) 123-45-67", "olena.shevchenko@ukr.net", "Київ",
         "Відділення №52 (до 30 кг): вул. Антоновича, 43", "paid"),
        ("Коваль Андрій Петрович", "0671112233", "", "Львів", "Відділення №3: вул. Городоцька, 120", "cod"),
        ("Мельник Ірина", "380931234567", "IRYNA.MELNYK@GMAIL.COM", "Одеса", "вул. Дерибасівська, 5, кв. 2",
         "unpaid"),
    ]
    orders = []
    for number, (name, phone, email, city, address, payment) in enumerate(customers, start=1):
        good_id, _, price = goods[(number - 1) % len(goods)]
        orders.append({
            "Client": {"Name": name, "MPhone": phone, "CPhone": "", "Місто": city, "EMail": email,
                       "Country": "Україна", "Address": address},
            "Options": {"OrderNumber": f"DEMO-{number}", "DeliveryCondition": "Нова Пошта",
                        "DeliveryAddress": address, "PaymentStatus": payment,
                        "OrderDate": f"2026-11-26 10:0{number}:00", "Comment": "Замовлення з демо"},
            "Goods": [{"GoodID": str(good_id), "Price": price.replace(".", ","), "Count": "1"}],
        })
    return orders


def drop_sample_files(shop: ShopSettings, orders: list[dict]) -> list[Path]:
    inbox = resolve_local_path(shop.orders_inbox.path, project_root())
    inbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    content = json.dumps(orders, ensure_ascii=False, indent=1).encode("utf-8")
    files = {
        f"orders-{stamp}.json": content,
        f"orders-{stamp}-resent.json": content,                  # the same orders again: skipped, not doubled
        f"broken-{stamp}.json": content[: len(content) // 2],    # cut off: quarantined with the reason
    }
    paths = []
    for offset, (name, data) in enumerate(files.items()):
        path = inbox / name
        path.write_bytes(data)
        os.utime(path, (OLD_MTIME + offset, OLD_MTIME + offset))   # the inbox takes the oldest first
        paths.append(path)
    return paths


def feed_stock(published: Path, good_ids: list[int]) -> dict[int, str]:
    """WarehouseQuantity of the goods in the published TSGoods.trs (what the site sees)."""
    feed = published / "TSGoods.trs"
    if not feed.exists():
        return {}
    wanted = {str(good_id) for good_id in good_ids}
    with open(feed, encoding="utf-8-sig", newline="") as handle:
        return {int(row["GoodID"]): row["WarehouseQuantity"]
                for row in csv.DictReader(handle, delimiter=";") if row["GoodID"] in wanted}


def print_feeds(published: Path) -> None:
    manifest = json.loads((published / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        print(f"    {published / entry['name']}  ({entry['rows']:,} rows, {entry['size']:,} bytes)")
    photos = sum(1 for _ in (published / "photos").rglob("*.*")) if (published / "photos").exists() else 0
    print(f"    {published / 'photos'}/  ({photos:,} resized photos)")


def print_orders(engine: Engine, shop_id: str) -> None:
    from shopsync.orders.workflow import list_invoices

    with engine.connect() as conn:
        for row in list_invoices(conn, shop_id):
            attention = "; ".join(row.attention_reasons or []) or "-"
            print(f"    invoice {row.id}: order {row.external_number}, {row.customer_name}, status {row.status},"
                  f" {row.total} {row.currency}, attention: {attention}")
        files = conn.execute(sa.text(
            "SELECT file_name, status, applied, skipped, flagged, rejected, conflicts, stored_as,"
            " details->>'unreadable' AS why"
            " FROM order_files WHERE shop_id = :s ORDER BY id DESC LIMIT 3"), {"s": shop_id}).all()
    for row in reversed(files):
        reason = f" - reason: {row.why}" if row.why else ""
        print(f"    file {row.file_name}: {row.status} -> {row.stored_as} (applied {row.applied}, skipped "
              f"{row.skipped}, flagged {row.flagged}, conflicts {row.conflicts}, rejected {row.rejected}){reason}")


def run_demo() -> int:
    from shopsync.core.db import get_engine, redact

    root = project_root()
    shop = get_shop(DEMO_SHOP)
    started = time.perf_counter()
    step("accounting database")
    engine = get_engine()
    db_url = engine.url.render_as_string(hide_password=False)
    print(f"    {redact(engine.url)}")
    fresh = ensure_seeded(engine)
    env = airflow_env(db_url)
    logs = root / ".local" / "demo-logs"

    step("Airflow metadata database (airflow db migrate)")
    run_airflow(["db", "migrate"], env, logs / "db-migrate.log")

    step("catalog export: airflow dags test shop_demo__catalog_export" + (" (full)" if fresh else ""))
    dags_test("shop_demo__catalog_export", env, logs, {"full": True} if fresh else None)
    published = resolve_local_path(shop.destination.path, project_root())
    print_feeds(published)

    goods = goods_of_earlier_demo_orders(engine, shop) or goods_in_stock(engine, shop)
    good_ids = [good_id for good_id, _, _ in goods]
    before = feed_stock(published, good_ids)
    step("orders: 1 good file, the same file re-sent, 1 broken file -> airflow dags test shop_demo__orders_ingest")
    for path in drop_sample_files(shop, sample_orders(goods)):
        print(f"    dropped {path}")
    dags_test("shop_demo__orders_ingest", env, logs)
    print_orders(engine, shop.id)

    step("stock refresh: airflow dags test shop_demo__catalog_export (incremental)")
    dags_test("shop_demo__catalog_export", env, logs)
    after = feed_stock(published, good_ids)
    for good_id, name, _ in goods[:3]:
        print(f"    good {good_id} «{name}»: WarehouseQuantity {before.get(good_id, '?')} -> {after.get(good_id, '?')}")

    from shopsync.demo.fulfilment import run_fulfilment_demo

    run_fulfilment_demo(engine, shop, env, lambda dag_id, run_env: dags_test(dag_id, run_env, logs), run_shopsync,
                        step)

    step(f"done in {time.perf_counter() - started:.0f} s")
    print(f"    feeds and photos:  {published}")
    inbox = resolve_local_path(shop.orders_inbox.path, project_root())
    print(f"    order inbox:       {inbox} (archive/, quarantine/)")
    print(f"    run files:         {root / '.local' / 'shops' / shop.id / 'runs'}")
    print(f"    Airflow logs:      {Path(env['AIRFLOW_HOME']) / 'logs'}; demo logs: {logs}")
    print("    Airflow UI:        make airflow-ui  (then http://localhost:8080)")
    return 0
