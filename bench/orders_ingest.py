"""Time one big Torgsoft order file through ingest_bytes on a throwaway, seeded database.

    .venv/bin/python bench/orders_ingest.py [--orders 10000] [--goods 20000] [--seed 42] [--profile]

One JSON file of `--orders` orders (1-5 lines of goods in stock, quantities 1-2, unique order numbers);
30% come from returning customers (a stored phone sent in another messy form than stored, with their
name written another way: the names must agree for the order to be theirs), 70% from new ones. The
ingest runs in a spawned child process so its peak RSS (ru_maxrss) is its own. Stages:
read+parse (parse_order_file on its own), the whole ingest_bytes (which parses again), apply = the rest;
per-order apply time (mean/p95: the time between consecutive answers of the pipelined apply_orders) and
statements per order (SQLAlchemy statements + statements sent through the pipeline) come from wrappers.
Afterwards SQL checks: invoices, customers (returning ones matched, not duplicated), reservations,
free stock never negative. PASS when every check holds and the ingest takes at most `--target` seconds.
The database and the seed photos are removed afterwards; the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shopsync.seed import seed_database
from shopsync.seed.people import OPERATOR_CODES, phone_as_typed
from shopsync.testing import create_schema_database, drop_database

SHOP_ID = "bench"
WAREHOUSES = [1, 2, 3]
FILE_NAME = "bench-orders.json"


@dataclass
class Plan:
    """What the generated file should do to the database."""
    orders: list[dict[str, Any]] = field(default_factory=list)
    returning_customers: set[int] = field(default_factory=set)
    new_customers: int = 0
    lines: int = 0
    units: Decimal = Decimal(0)
    reservations: int = 0


# Database ------------------------------------------------------------------------------------------------
def stock_by_good(engine: sa.Engine) -> dict[int, list[list]]:
    """good_id -> [[warehouse_id, free], ...] warehouse ascending; goods on sale (active, visible) with a retail
    price only, as a site offers them (an order for a withdrawn or hidden good is flagged)."""
    query = sa.text(
        "SELECT f.good_id, f.warehouse_id, f.free FROM free_stock f "
        "JOIN prices p ON p.good_id = f.good_id AND p.price_type_id = 1 AND p.currency = 'UAH' AND p.price > 0 "
        "JOIN goods g ON g.id = f.good_id AND g.is_active AND g.is_visible "
        "WHERE f.warehouse_id = ANY(:w) ORDER BY f.good_id, f.warehouse_id"
    )
    stock: dict[int, list[list]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query, {"w": WAREHOUSES}):
            stock[row.good_id].append([row.warehouse_id, row.free])
    return dict(stock)


def retail_prices(engine: sa.Engine) -> dict[int, Decimal]:
    query = sa.text("SELECT good_id, price FROM prices WHERE price_type_id = 1 AND currency = 'UAH'")
    with engine.connect() as conn:
        return {row.good_id: row.price for row in conn.execute(query)}


def stored_phones(engine: sa.Engine) -> list[tuple[int, str, str, str]]:
    """(customer_id, phone_raw, phone_e164, full_name) of active customers."""
    query = sa.text(
        "SELECT p.customer_id, p.phone_raw, p.phone_e164, c.full_name FROM customer_phones p "
        "JOIN customers c ON c.id = p.customer_id WHERE c.is_active ORDER BY p.customer_id, p.phone_e164"
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


# The order file ------------------------------------------------------------------------------------------
def messy_name(stored: str, rng: random.Random) -> str:
    """The stored name as the customer might type it next time: other case, word order and spacing."""
    words = stored.split()
    if rng.random() < 0.5:
        words.reverse()
    written = "  ".join(words) if rng.random() < 0.5 else " ".join(words)
    return rng.choice([written, written.upper(), written.lower()])


def messy_form(stored_raw: str, e164: str, rng: random.Random) -> str:
    """The stored phone as the customer might type it next time: any form but the stored one."""
    national = "0" + e164.removeprefix("+380")
    forms = [phone_as_typed(national, style) for style in range(10)] + [f"8 {national[:3]} {national[3:]}"]
    choices = [form for form in forms if form.strip() != stored_raw.strip()]
    return rng.choice(choices)


def new_phone(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """(national 0XXXXXXXXX, e164) not used by any customer yet."""
    while True:
        national = f"0{rng.choice(OPERATOR_CODES)}{rng.randrange(10**7):07d}"
        e164 = "+38" + national
        if e164 not in taken:
            taken.add(e164)
            return national, e164


def take_stock(free: list[list], quantity: Decimal) -> int:
    """Reserve like shopsync_reserve_lines (warehouse ascending) on our copy; returns the reservation rows made."""
    rows, remaining = 0, quantity
    for place in free:
        take = min(remaining, place[1])
        if take > 0:
            place[1] -= take
            remaining -= take
            rows += 1
        if remaining <= 0:
            return rows
    raise AssertionError("picked a good without enough free stock")


def order_lines(rng: random.Random, stock: dict[int, list[list]], goods: list[int], prices: dict[int, Decimal],
                plan: Plan) -> list[dict[str, str]]:
    lines = []
    for good_id in rng.sample(goods, rng.randint(1, 5)):
        free = sum(place[1] for place in stock[good_id])
        quantity = min(Decimal(rng.randint(1, 2)), free.to_integral_value(rounding="ROUND_FLOOR"))
        if quantity < 1:
            continue
        plan.reservations += take_stock(stock[good_id], quantity)
        plan.lines += 1
        plan.units += quantity
        price = str(prices[good_id]).replace(".", ",")
        lines.append({"GoodID": str(good_id), "Price": price, "Count": str(quantity)})
    return lines


def customer_block(rng: random.Random, index: int, phones: list[tuple[int, str, str, str]], taken: set[str],
                   returning_share: float, plan: Plan) -> dict[str, str]:
    client = {"Name": f"Покупець {index}", "Місто": rng.choice(["Київ", "Львів", "Одеса", "Дніпро"]),
              "Address": f"вул. Тестова, {index % 200 + 1}"}
    if rng.random() < returning_share:
        customer_id, raw, e164, name = rng.choice(phones)
        plan.returning_customers.add(customer_id)
        return {**client, "Name": messy_name(name, rng), "MPhone": messy_form(raw, e164, rng), "EMail": ""}
    national, _ = new_phone(rng, taken)
    plan.new_customers += 1
    email = f"bench{index}@bench.test" if index % 2 else ""
    return {**client, "MPhone": phone_as_typed(national, rng.randrange(10)), "EMail": email}


def build_file(engine: sa.Engine, orders: int, returning_share: float, seed: int) -> tuple[bytes, Plan]:
    rng = random.Random(f"{seed}:orders")
    stock, prices, phones = stock_by_good(engine), retail_prices(engine), stored_phones(engine)
    goods = [good for good, places in stock.items() if sum(place[1] for place in places) >= 4]
    taken = {e164 for _, _, e164, _ in phones}
    plan = Plan()
    for index in range(1, orders + 1):
        lines: list[dict[str, str]] = []
        while not lines:
            lines = order_lines(rng, stock, goods, prices, plan)
        plan.orders.append({
            "Client": customer_block(rng, index, phones, taken, returning_share, plan),
            "Options": {"OrderNumber": f"BENCH-{index:07d}", "DeliveryAddress": f"Відділення №{index % 90 + 1}",
                        "PaymentStatus": rng.choice(["paid", "unpaid", "cod"]),
                        "OrderDate": "2025-03-01 12:00:00"},
            "Goods": lines,
        })
    return json.dumps(plan.orders, ensure_ascii=False).encode(), plan


# The child process ----------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ingest(url: str, path: str, inbox: str, profile: bool, results: Any) -> None:
    """Runs in a spawned process: parse alone, then the whole ingest_bytes, timing each order's apply."""
    import gc

    from shopsync.core.config import ShopSettings
    from shopsync.core.db import get_engine
    from shopsync.orders import apply, apply_file
    from shopsync.orders.formats import parse_order_file

    report: dict[str, Any] = {"rss_after_imports_mb": peak_rss_mb()}
    started = time.perf_counter()
    data = Path(path).read_bytes()
    parsed = parse_order_file(data, FILE_NAME, "torgsoft_json")
    report["parse_s"], report["parsed_orders"] = time.perf_counter() - started, len(parsed.orders)
    del parsed
    gc.collect()
    report["rss_after_parse_mb"] = peak_rss_mb()
    engine = get_engine(url)
    statements = count_statements(engine, apply, report)
    applies = time_applies(apply_file)
    shop = ShopSettings.model_validate(shop_config(inbox))
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if profiler:
        profiler.enable()
    outcome = apply_file.ingest_bytes(engine, shop, FILE_NAME, data)
    if profiler:
        profiler.disable()
    report["ingest_s"] = time.perf_counter() - started
    cpu_done = resource.getrusage(resource.RUSAGE_SELF)
    report["client_cpu_s"] = (cpu_done.ru_utime - cpu_started.ru_utime) + (cpu_done.ru_stime - cpu_started.ru_stime)
    report.update(applies=applies, statements=statements[0], peak_rss_mb=peak_rss_mb(), file_id=outcome.file_id,
                  counts={key: getattr(outcome, key) for key in ("applied", "skipped", "flagged", "rejected")},
                  reasons=sorted({r for o in outcome.orders for r in o.get("reasons", [])})[:5],
                  profile=profile_text(profiler) if profiler else "")
    engine.dispose()
    results.put(report)


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a local process (the database backend), None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_statements(engine: sa.Engine, apply_module: Any, report: dict[str, Any]) -> list[int]:
    """Statements through the engine (SQLAlchemy event) and through the order pipeline (one per document);
    also the CPU seconds the pipeline's database backend spent (report["server_cpu_s"], local servers only)."""
    counter = [0]

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counter[0] += 1

    original = apply_module.apply_documents

    def counted(conn: Any, documents: Any, **options: Any) -> Any:
        def each() -> Any:
            for document in documents:
                counter[0] += 1
                yield document

        pid = conn.info.backend_pid
        before = process_cpu_s(pid)
        yield from original(conn, each(), **options)
        after = process_cpu_s(pid)
        if before is not None and after is not None:
            report["server_cpu_s"] = report.get("server_cpu_s", 0.0) + after - before

    apply_module.apply_documents = counted
    return counter


def time_applies(apply_file_module: Any) -> list[float]:
    """Wrap apply_orders where apply_file looks it up; returns the list the time between answers lands in."""
    durations: list[float] = []
    original = apply_file_module.apply_orders

    def timed(*args: Any, **kwargs: Any) -> Any:
        last = time.perf_counter()
        for result in original(*args, **kwargs):
            now = time.perf_counter()
            durations.append(now - last)
            last = now
            yield result

    apply_file_module.apply_orders = timed
    return durations


def profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def shop_config(inbox: str) -> dict[str, Any]:
    return {
        "id": SHOP_ID, "name": "Bench", "url": "https://bench.example", "warehouses": WAREHOUSES,
        "feeds": [{"profile": "yml"}], "destination": {"kind": "local", "path": str(Path(inbox).parent / "out")},
        "orders_inbox": {"kind": "local", "path": inbox, "settle_seconds": 0, "format": "torgsoft_json"},
    }


def run_child(url: str, path: Path, profile: bool) -> tuple[dict[str, Any], float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=child_ingest, args=(url, str(path), str(path.parent / "inbox"), profile,
                                                         results))
    started = time.perf_counter()
    process.start()
    report = results.get()
    process.join()
    return report, time.perf_counter() - started


# Checks ---------------------------------------------------------------------------------------------------
def verify(engine: sa.Engine, plan: Plan, customers_before: int, max_customer_id: int,
           file_id: int) -> list[tuple[str, Any, Any]]:
    """(check, expected, got) rows."""
    def one(sql: str, **params: Any) -> Any:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    orders = len(plan.orders)
    return [
        ("invoices from the file", orders, one("SELECT count(*) FROM invoices WHERE source_file_id = :f", f=file_id)),
        ("invoices 'reserved', no attention", orders,
         one("SELECT count(*) FROM invoices WHERE status = 'reserved' AND NOT needs_attention")),
        ("invoice lines", plan.lines, one("SELECT count(*) FROM invoice_lines")),
        ("customers (seeded + new)", customers_before + plan.new_customers, one("SELECT count(*) FROM customers")),
        ("returning customers matched", len(plan.returning_customers),
         one("SELECT count(DISTINCT customer_id) FROM invoices WHERE customer_id <= :m", m=max_customer_id)),
        ("phones on two customers", 0, one(
            "SELECT count(*) FROM (SELECT phone_e164 FROM customer_phones GROUP BY 1 HAVING count(*) > 1) d")),
        ("invoices without customer", 0, one("SELECT count(*) FROM invoices WHERE customer_id IS NULL")),
        ("reservations", plan.reservations, one("SELECT count(*) FROM reservations WHERE status = 'active'")),
        ("units reserved", plan.units, one("SELECT sum(quantity) FROM reservations WHERE status = 'active'")),
        ("stock places with free < 0", 0, one("SELECT count(*) FROM free_stock WHERE free < 0")),
    ]


# Report ---------------------------------------------------------------------------------------------------
def print_results(report: dict[str, Any], child_wall: float, checks: list[tuple[str, Any, Any]],
                  target: float, load_before: tuple[float, ...]) -> bool:
    applies = sorted(report["applies"])
    orders = len(applies) or 1
    apply_total = report["ingest_s"] - report["parse_s"]
    measured = sum(applies)
    print(f"\ningest of {report['parsed_orders']:,} orders ({report['counts']}):")
    print(f"  read + parse (parse_order_file alone)   {report['parse_s']:7.2f} s")
    print(f"  ingest_bytes, whole                     {report['ingest_s']:7.2f} s")
    print(f"  -> apply share (whole - parse)          {apply_total:7.2f} s"
          f"  ({100 * apply_total / report['ingest_s']:.0f} %)")
    print(f"     of it in apply_orders (pipelined)    {measured:7.2f} s; file records etc. "
          f"{apply_total - measured:.2f} s")
    print(f"  per order (time between answers): mean {1000 * statistics.fmean(applies):.2f} ms,"
          f" p95 {1000 * applies[int(0.95 * (len(applies) - 1))]:.2f} ms,"
          f" max {1000 * applies[-1]:.1f} ms; {report['statements'] / orders:.1f} SQL statements per order")
    server_cpu = report.get("server_cpu_s")
    print(f"  CPU during ingest_bytes: client (this process) {report['client_cpu_s']:.2f} s"
          f" ({1000 * report['client_cpu_s'] / orders:.2f} ms per order), database backend "
          + (f"{server_cpu:.2f} s ({1000 * server_cpu / orders:.2f} ms per order)" if server_cpu is not None
             else "not measurable (server not local)"))
    print(f"  child process wall (spawn + imports + both) {child_wall:.2f} s")
    print(f"  peak RSS {report['peak_rss_mb']:.0f} MB (after imports {report['rss_after_imports_mb']:.0f} MB,"
          f" after parse alone {report['rss_after_parse_mb']:.0f} MB)")
    if report["reasons"]:
        print(f"  attention reasons seen: {report['reasons']}")
    ok = print_checks(checks)
    fast = report["ingest_s"] <= target
    print(f"\ntarget: ingest_bytes <= {target:.0f} s: {'met' if fast else 'MISSED'} ({report['ingest_s']:.1f} s)")
    print(f"load average {' / '.join(f'{x:.2f}' for x in load_before)} before,"
          f" {' / '.join(f'{x:.2f}' for x in os.getloadavg())} after; {os.cpu_count()} CPUs")
    print("PASS" if ok and fast else "FAIL")
    if report["profile"]:
        print("\ncProfile of ingest_bytes (tottime):\n" + report["profile"])
    return ok and fast


def print_checks(checks: list[tuple[str, Any, Any]]) -> bool:
    print("\nchecks:")
    ok = True
    for name, expected, got in checks:
        good = expected == got
        ok = ok and good
        print(f"  {'ok  ' if good else 'FAIL'} {name:<36} expected {expected}, got {got}")
    return ok


# Main -----------------------------------------------------------------------------------------------------
def seed(url: str, goods: int, seed_value: int) -> float:
    engine = sa.create_engine(url)
    try:
        started = time.perf_counter()
        seed_database(engine, goods=goods, seed=seed_value)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def customer_ids(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text("SELECT count(*), coalesce(max(id), 0) FROM customers")).one())


def run(args: argparse.Namespace) -> bool:
    load_before = os.getloadavg()
    url = create_schema_database("shopsync_bench")
    workdir = Path(tempfile.mkdtemp(prefix="shopsync-bench-orders-"))
    os.environ["SHOPSYNC_PHOTOS_DIR"] = str(workdir / "photos")
    engine = sa.create_engine(url)
    try:
        print(f"seeded {args.goods:,} goods in {seed(url, args.goods, args.seed):.1f} s")
        started = time.perf_counter()
        data, plan = build_file(engine, args.orders, args.returning, args.seed)
        path = workdir / FILE_NAME
        path.write_bytes(data)
        customers_before, max_customer_id = customer_ids(engine)
        print(f"built {FILE_NAME}: {len(plan.orders):,} orders, {plan.lines:,} lines, {len(data) / 2**20:.1f} MB,"
              f" {plan.new_customers:,} new customers, {len(plan.returning_customers):,} distinct returning"
              f" ({customers_before:,} seeded) in {time.perf_counter() - started:.1f} s")
        report, child_wall = run_child(url, path, args.profile)
        checks = verify(engine, plan, customers_before, max_customer_id, report["file_id"])
        return print_results(report, child_wall, checks, args.target, load_before)
    finally:
        engine.dispose()
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--goods", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--returning", type=float, default=0.3, help="share of orders from existing customers")
    parser.add_argument("--target", type=float, default=20.0, help="seconds allowed for ingest_bytes")
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest and print the top entries")
    raise SystemExit(0 if run(parser.parse_args()) else 1)


if __name__ == "__main__":
    main()
