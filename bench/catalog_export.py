"""Catalog export benchmark: full and incremental run_export on a seeded throwaway database.

    .venv/bin/python bench/catalog_export.py [--goods 100000] [--seed 42] [--skip-naive]

Seeds N goods into a new database (photos and the shop's workspace in a temporary directory), then runs,
each in its own child process (so the peak RSS, resource.getrusage of the child, is that run's alone):

  photos cold   the one-time photo work: a full goods extract, every original resized, every resized photo
                published (later exports, full or not, only handle photos that changed)
  full          run_export(full=True), photos warm
  incremental   after re-pricing 1% of the goods (a quarter of them also change stock): run_export(full=False)
  floor         COPY of the goods and characteristics queries to nowhere (psycopg cursor.copy), and writing
                as many bytes as the full run's feeds to a file (1 MB chunks, fsync)
  naive         pandas.read_sql of everything, one lxml tree with every offer, tostring, write (--skip-naive
                leaves it out)

Memory is the export process plus its worker processes (feed read-back, validation), sampled together every
50 ms. Database time is the CPU time of the PostgreSQL processes during the extract stages (when the server
runs on this machine; else the extract stages' seconds). It prints a Markdown table with PASS/FAIL against
the targets. The database and the temporary directory are removed at the end, also on failure. The load
average is printed: on a shared machine it explains most of the spread between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SHOP_ID = "bench"
CURRENCY = "UAH"
WAREHOUSES = [1, 2]
CHANGED_SHARE = 0.01
STOCK_CHANGED_EVERY = 4          # every 4th re-priced good also gets a stock movement
CHUNK_BYTES = 1 << 20
# Targets per catalog size: full run wall seconds and peak RSS (MiB).
FULL_TARGETS = {100_000: (15.0, 600.0), 1_000_000: (150.0, 1500.0)}
INCREMENTAL_ROWS_RATIO = 0.1
INCREMENTAL_DB_RATIO = 0.1
INCREMENTAL_WALL_RATIO = 0.5
EXTRACT_STAGES = ("extract_goods", "extract_customers", "extract_certificates", "extract_categories")
STAGE_ORDER = (*EXTRACT_STAGES, "photos", "merge_goods", "merge_customers", "merge_certificates",
               "write_feeds", "validate", "publish")


# --- shared helpers -------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> float:
    return os.getloadavg()[0]


def bench_shop(tmp: Path):
    from shopsync.core.config import ShopSettings

    return ShopSettings.model_validate({
        "id": SHOP_ID, "name": "Bench shop", "url": "https://bench.example", "currency": CURRENCY,
        "warehouses": WAREHOUSES,
        "feeds": [{"profile": "torgsoft_csv"}, {"profile": "rozetka_yml"}],
        "destination": {"kind": "local", "path": str(tmp / "published")},
        "orders_inbox": {"kind": "local", "path": str(tmp / "inbox")},
    })


def export_run(tmp: Path, start: str, end: str, full: bool):
    from shopsync.catalog.run import ExportRun

    return ExportRun(shop=bench_shop(tmp), interval_start=datetime.fromisoformat(start),
                     interval_end=datetime.fromisoformat(end), full=full)


# --- child processes: one measured run each --------------------------------------------------------

def child_photos(engine: sa.Engine, tmp: Path, params: dict) -> dict:
    """The one-time photo work: every original resized, and every resized photo published (a later export,
    full or not, only handles photos that changed)."""
    from shopsync.catalog import pipeline

    run = export_run(tmp, params["start"], params["end"], full=True)
    extracted = pipeline.extract_dataset(engine, run, "goods")
    started = time.perf_counter()
    photos = pipeline.resize_photos(run)
    pipeline.merge_dataset(run, "goods")
    upload_started = time.perf_counter()
    uploaded = pipeline.publish_photos(run)
    return {"wall": time.perf_counter() - started, "extract_seconds": extracted["seconds"],
            "processed": photos.get("processed"), "unchanged": photos.get("unchanged"), "failed": photos.get("failed"),
            "photos_seconds": photos["seconds"], "uploaded": uploaded,
            "upload_seconds": time.perf_counter() - upload_started}


def child_export(engine: sa.Engine, tmp: Path, params: dict) -> dict:
    """run_export as the CLI runs it; the stage dicts are caught on their way into summarise."""
    from shopsync.catalog import pipeline

    captured: list[dict] = []
    original = pipeline.summarise

    def capturing(run, results):
        captured.extend(r for r in results if r)
        return original(run, results)

    pipeline.summarise = capturing
    extracts = {name: getattr(pipeline, name) for name in ("extract_dataset", "extract_categories")}

    def with_database_cpu(stage):
        def measured(*args, **kwargs):
            before = database_cpu_seconds()
            result = stage(*args, **kwargs)
            after = database_cpu_seconds()
            result["db_cpu_seconds"] = None if before is None or after is None else after - before
            return result
        return measured

    for name, stage in extracts.items():
        setattr(pipeline, name, with_database_cpu(stage))
    run = export_run(tmp, params["start"], params["end"], full=params["full"])
    memory = MemorySampler()
    started = time.perf_counter()
    summary = pipeline.run_export(engine, run)
    wall = time.perf_counter() - started
    memory.stop()
    return {"wall": wall, "stages": {r["stage"]: r for r in captured}, "changed": summary["changed"],
            "feeds": summary["feeds"], "total_peak_mb": memory.peak_mb}


def database_cpu_seconds() -> float | None:
    """CPU time (user + system) of every PostgreSQL process on this machine: the database time a stage cost.
    None when they cannot be seen (a server elsewhere): the bench then compares the extract stages' seconds."""
    ticks, found = 0, False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            values = fields[1].split()
            ticks += int(values[11]) + int(values[12])          # utime, stime
            found = True
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


class MemorySampler:
    """The resident memory of this process plus its child processes (the read-back and validation workers),
    sampled every 50 ms (children listed every 0.5 s): what the run needs at once."""

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        me, children, samples = os.getpid(), [], 0
        while not self._done.wait(0.05):
            if samples % 10 == 0:                   # listing /proc costs more than reading a few status files
                children = _children(me)
            samples += 1
            self.peak_kb = max(self.peak_kb, _rss_kb(me) + sum(_rss_kb(child) for child in children))


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return children


def render_extract_sql(name: str) -> str:
    from shopsync.catalog.extract import Scope
    from shopsync.core.sql import read_sql

    sql = Scope(None).render(read_sql(f"extract/{name}.sql")).strip().rstrip(";")
    return re.sub(r"(?<!:):currency\b", "%(currency)s", sql)


def copy_to_nowhere(dsn: str, name: str) -> dict:
    import psycopg

    started = time.perf_counter()
    size = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY ({render_extract_sql(name)}) TO STDOUT", {"currency": CURRENCY}) as copy:
            for block in copy:
                size += len(block)
    return {"seconds": time.perf_counter() - started, "bytes": size}


def write_to_disk(path: Path, size: int) -> dict:
    chunk = b"x" * CHUNK_BYTES
    started = time.perf_counter()
    with open(path, "wb") as out:
        left = size
        while left > 0:
            left -= out.write(chunk[:min(left, CHUNK_BYTES)])
        out.flush()
        os.fsync(out.fileno())
    seconds = time.perf_counter() - started
    path.unlink()
    return {"seconds": seconds, "bytes": size}


def child_floor(engine: sa.Engine, tmp: Path, params: dict) -> dict:
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return {
        "copy_goods": copy_to_nowhere(dsn, "goods"),
        "copy_characteristics": copy_to_nowhere(dsn, "characteristics"),
        "disk": write_to_disk(tmp / "floor.bin", params["feed_bytes"]),
    }


NAIVE_GOODS_SQL = """
SELECT g.id AS good_id, g.name, g.article, g.brand, g.category_id, g.description,
       (g.is_active AND g.is_visible) AS visible, p.price, COALESCE(fs.free, 0) AS free
FROM goods g
LEFT JOIN prices p ON p.good_id = g.id AND p.currency = 'UAH'
      AND p.price_type_id = (SELECT id FROM price_types WHERE code = 'retail')
LEFT JOIN (SELECT good_id, sum(free) AS free FROM free_stock WHERE warehouse_id IN (1, 2) GROUP BY good_id) fs
       ON fs.good_id = g.id
ORDER BY g.id
"""
NAIVE_CHARACTERISTICS_SQL = """
SELECT gc.good_id, k.name, gc.value, COALESCE(gc.unit, k.unit) AS unit
FROM good_characteristics gc JOIN characteristic_kinds k ON k.id = gc.kind_id
ORDER BY gc.good_id, k.id
"""


def naive_tree(goods, characteristics):
    from lxml import etree

    root = etree.Element("yml_catalog", date="2025-01-01 00:00")
    offers_el = etree.SubElement(etree.SubElement(root, "shop"), "offers")
    offers = {}
    for good in goods.itertuples(index=False):
        offer = etree.SubElement(offers_el, "offer", id=str(good.good_id), available=str(bool(good.visible)).lower())
        for tag, value in (("name", good.name), ("vendor", good.brand), ("vendorCode", good.article),
                           ("price", good.price), ("categoryId", good.category_id),
                           ("stock_quantity", good.free), ("description", good.description)):
            etree.SubElement(offer, tag).text = "" if value is None else str(value)
        offers[good.good_id] = offer
    for char in characteristics.itertuples(index=False):
        param = etree.SubElement(offers[char.good_id], "param", name=char.name)
        if isinstance(char.unit, str):          # NULL comes back from pandas as NaN
            param.set("unit", char.unit)
        param.text = char.value
    return root


def child_naive(engine: sa.Engine, tmp: Path, params: dict) -> dict:
    import pandas as pd
    from lxml import etree

    started = time.perf_counter()
    goods = pd.read_sql(sa.text(NAIVE_GOODS_SQL), engine)
    characteristics = pd.read_sql(sa.text(NAIVE_CHARACTERISTICS_SQL), engine)
    read_seconds = time.perf_counter() - started
    data = etree.tostring(naive_tree(goods, characteristics), encoding="utf-8", xml_declaration=True)
    (tmp / "naive.xml").write_bytes(data)
    return {"wall": time.perf_counter() - started, "read_seconds": read_seconds, "bytes": len(data),
            "offers": len(goods), "params": len(characteristics)}


def child_seed(engine: sa.Engine, tmp: Path, params: dict) -> dict:
    """Seeding runs in a child too: on Linux a child's ru_maxrss starts at its parent's RSS at fork time."""
    from shopsync.seed import seed_database

    started = time.perf_counter()
    seed_database(engine, goods=params["goods"], seed=params["seed"])
    return {"wall": time.perf_counter() - started}


CHILDREN = {"seed": child_seed, "photos": child_photos, "export": child_export, "floor": child_floor,
            "naive": child_naive}


def child_main(kind: str, url: str, tmp: Path, params: dict, result_path: Path) -> None:
    base_rss = peak_rss_mb()
    engine = sa.create_engine(url)
    try:
        result = CHILDREN[kind](engine, tmp, params)
    finally:
        engine.dispose()
    result.update(peak_rss_mb=peak_rss_mb(), base_rss_mb=base_rss)
    result_path.write_text(json.dumps(result, default=str), encoding="utf-8")


# --- parent: database, changes, runs, report -------------------------------------------------------

@dataclass
class Bench:
    url: str
    tmp: Path
    goods: int


def run_child(bench: Bench, kind: str, **params: Any) -> dict:
    result_path = bench.tmp / f"result-{kind}-{time.monotonic_ns()}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--url", bench.url,
               "--tmp", str(bench.tmp), "--params", json.dumps(params), "--result", str(result_path)]
    load = load_average()
    started = time.perf_counter()
    subprocess.run(command, check=True)
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result.update(process_wall=time.perf_counter() - started, load_before=load)
    print(f"  {kind}: {result['wall'] if 'wall' in result else result['process_wall']:.1f} s,"
          f" peak RSS {result['peak_rss_mb']:.0f} MB (load {load:.2f})", file=sys.stderr, flush=True)
    return result


def vacuum(url: str) -> float:
    """VACUUM (ANALYZE) the freshly seeded database, as a live one is: otherwise autovacuum works through the
    millions of new rows (and the first reads set their hint bits) while the runs are being measured."""
    started = time.perf_counter()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def change_catalog(bench: Bench, seed_value: int) -> dict:
    """Re-price 1% of the goods (a seeded, deterministic choice); every 4th of them also gains stock at warehouse 1."""
    engine = sa.create_engine(bench.url)
    try:
        with engine.begin() as conn:
            chosen = sorted(conn.execute(sa.text(
                "SELECT id FROM goods ORDER BY md5(id::text || :salt), id"
                " LIMIT greatest(1, (SELECT count(*) FROM goods) * CAST(:share AS float))::bigint"
            ), {"salt": f"{seed_value}:bench-change", "share": CHANGED_SHARE}).scalars().all())
            restocked = chosen[::STOCK_CHANGED_EVERY]
            prices = conn.execute(sa.text(
                "UPDATE prices SET price = price + 1 WHERE good_id = ANY(:ids) AND price_type_id = 1"), {"ids": chosen})
            stock = conn.execute(sa.text(
                "UPDATE stock SET on_hand = on_hand + 5 WHERE good_id = ANY(:ids) AND warehouse_id = 1"),
                {"ids": restocked})
        return {"goods": len(chosen), "price_rows": prices.rowcount, "stock_rows": stock.rowcount}
    finally:
        engine.dispose()


def interval_ends(count: int) -> list[str]:
    """Distinct run keys (second resolution), a minute apart, ending now."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [(now - timedelta(minutes=count - i)).isoformat() for i in range(count)]


def measure(bench: Bench, skip_naive: bool, seed_value: int) -> dict:
    photos_end, full_end = interval_ends(2)
    results: dict[str, Any] = {}
    results["photos"] = run_child(bench, "photos", start=photos_end, end=photos_end)
    results["full"] = run_child(bench, "export", start=full_end, end=full_end, full=True)
    time.sleep(1.0)
    window_start = datetime.now(UTC)
    results["change"] = change_catalog(bench, seed_value)
    incremental_end = max(datetime.now(UTC).replace(microsecond=0), datetime.fromisoformat(full_end) +
                          timedelta(seconds=1))
    results["incremental"] = run_child(bench, "export", start=window_start.isoformat(),
                                       end=incremental_end.isoformat(), full=False)
    feed_bytes = sum(f["bytes"] for f in results["full"]["feeds"].values())
    results["floor"] = run_child(bench, "floor", feed_bytes=feed_bytes)
    results["naive"] = None if skip_naive else run_child(bench, "naive")
    return results


# --- report ---------------------------------------------------------------------------------------

def stage_seconds(run: dict, stage: str) -> float | None:
    found = run["stages"].get(stage)
    return None if found is None else found["seconds"]


def rows_read(run: dict) -> int:
    return sum(run["stages"][s].get("rows_read", 0) for s in EXTRACT_STAGES if s in run["stages"])


def db_seconds(run: dict) -> float:
    """Seconds of the extract stages (database work plus writing the change files)."""
    return sum(run["stages"][s]["seconds"] for s in EXTRACT_STAGES if s in run["stages"])


def db_cpu_seconds(run: dict) -> float | None:
    """CPU seconds the PostgreSQL server spent during the extract stages (None: server not visible here)."""
    values = [run["stages"][s].get("db_cpu_seconds") for s in EXTRACT_STAGES if s in run["stages"]]
    return None if any(value is None for value in values) else sum(values)


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else float("inf")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def workers_mb(run: dict) -> list[float]:
    """Peak memory of the read-back worker processes of the run's write_feeds stage (they run together)."""
    return run["stages"].get("write_feeds", {}).get("worker_peaks_mb", [])


def total_peak_mb(run: dict) -> float:
    """The most memory the run held at once: the export process with its worker processes (sampled), and
    never less than the export process's own exact peak."""
    return max(run["total_peak_mb"], run["peak_rss_mb"])


def stage_table(full: dict, incremental: dict) -> list[str]:
    lines = ["| stage | full s | incremental s |", "| --- | ---: | ---: |"]
    for stage in STAGE_ORDER:
        lines.append(f"| {stage} | {fmt(stage_seconds(full, stage))} | {fmt(stage_seconds(incremental, stage))} |")
    lines.append(f"| **run_export wall** | **{fmt(full['wall'])}** | **{fmt(incremental['wall'])}** |")
    lines.append(f"| child process wall (with imports) | {fmt(full['process_wall'])} |"
                 f" {fmt(incremental['process_wall'])} |")
    lines.append(f"| peak RSS MB (after imports) | {fmt(full['peak_rss_mb'], 0)} ({fmt(full['base_rss_mb'], 0)}) |"
                 f" {fmt(incremental['peak_rss_mb'], 0)} ({fmt(incremental['base_rss_mb'], 0)}) |")
    lines.append("| read-back worker peak MB | " + " | ".join(
        ", ".join(f"{mb:.0f}" for mb in workers_mb(run)) or "none" for run in (full, incremental)) + " |")
    lines.append(f"| **peak memory MB, export + its worker processes at once** | **{fmt(total_peak_mb(full), 0)}** |"
                 f" **{fmt(total_peak_mb(incremental), 0)}** |")
    lines.append(f"| load average before | {fmt(full['load_before'])} | {fmt(incremental['load_before'])} |")
    return lines


def io_table(full: dict, incremental: dict) -> list[str]:
    rows_full, rows_incr = rows_read(full), rows_read(incremental)
    db_full, db_incr = db_seconds(full), db_seconds(incremental)
    return [
        "| measure | full | incremental | incremental / full |", "| --- | ---: | ---: | ---: |",
        f"| rows read (extract stages) | {rows_full:,} | {rows_incr:,} | {ratio(rows_incr, rows_full):.4f} |",
        f"| extract stages s (database + change files) | {fmt(db_full)} | {fmt(db_incr)} |"
        f" {ratio(db_incr, db_full):.4f} |",
        f"| database CPU s (PostgreSQL processes, extract stages) | {fmt(db_cpu_seconds(full))} |"
        f" {fmt(db_cpu_seconds(incremental))} | {_ratio_text(db_cpu_seconds(incremental), db_cpu_seconds(full))} |",
        f"| wall s | {fmt(full['wall'])} | {fmt(incremental['wall'])} |"
        f" {ratio(incremental['wall'], full['wall']):.4f} |",
    ]


def _ratio_text(part: float | None, whole: float | None) -> str:
    return "–" if part is None or whole is None else f"{ratio(part, whole):.4f}"


def other_table(results: dict) -> list[str]:
    photos, floor, full = results["photos"], results["floor"], results["full"]
    goods_copy, chars_copy, disk = floor["copy_goods"], floor["copy_characteristics"], floor["disk"]
    lines = [
        "| run | seconds | peak RSS MB | notes |", "| --- | ---: | ---: | --- |",
        f"| photos cold (one-time: resize + first upload) | {fmt(photos['wall'])} | {fmt(photos['peak_rss_mb'], 0)} |"
        f" {photos['processed']:,} resized in {fmt(photos['photos_seconds'])} s, {photos['failed']} failed;"
        f" {photos['uploaded']:,} files published in {fmt(photos['upload_seconds'])} s; the full extract before"
        f" it took {fmt(photos['extract_seconds'])} s |",
        f"| floor: COPY goods query | {fmt(goods_copy['seconds'])} | | {goods_copy['bytes']:,} bytes |",
        f"| floor: COPY characteristics query | {fmt(chars_copy['seconds'])} | | {chars_copy['bytes']:,} bytes |",
        f"| floor: both COPYs | {fmt(goods_copy['seconds'] + chars_copy['seconds'])} | {fmt(floor['peak_rss_mb'], 0)}"
        f" | vs extract_goods {fmt(stage_seconds(full, 'extract_goods'))} s |",
        f"| floor: write feed bytes + fsync | {fmt(disk['seconds'])} | | {disk['bytes']:,} bytes"
        f" (vs write_feeds {fmt(stage_seconds(full, 'write_feeds'))} s) |",
    ]
    naive = results["naive"]
    if naive:
        lines += [
            f"| naive (pandas + lxml tree, one YML) | {fmt(naive['wall'])} | {fmt(naive['peak_rss_mb'], 0)} |"
            f" read_sql {fmt(naive['read_seconds'])} s; {naive['offers']:,} offers, {naive['params']:,} params,"
            f" {naive['bytes']:,} bytes |",
            f"| naive / ours (full run_export) | {ratio(naive['wall'], full['wall']):.2f}x |"
            f" {ratio(naive['peak_rss_mb'], full['peak_rss_mb']):.2f}x | ours also writes TSGoods, validates and"
            " publishes |",
        ]
    return lines


def target_lines(goods: int, full: dict, incremental: dict) -> list[str]:
    lines = []
    if goods in FULL_TARGETS:
        wall, rss = FULL_TARGETS[goods]
        lines.append(f"- full wall ≤ {wall:.0f} s: {fmt(full['wall'])} s → **{verdict(full['wall'] <= wall)}**")
        lines.append(f"- full peak memory (export process + its workers at once) ≤ {rss:.0f} MB:"
                     f" {fmt(total_peak_mb(full), 0)} MB → **{verdict(total_peak_mb(full) <= rss)}**")
    else:
        lines.append(f"- full wall / RSS: no target for {goods:,} goods (targets: 100,000 and 1,000,000)")
    db_full, db_incr = db_cpu_seconds(full), db_cpu_seconds(incremental)
    db_name = "DB time (database CPU)"
    if db_full is None or db_incr is None:
        db_full, db_incr, db_name = db_seconds(full), db_seconds(incremental), "DB time (extract stages)"
    checks = [
        ("rows read", ratio(rows_read(incremental), rows_read(full)), INCREMENTAL_ROWS_RATIO),
        (db_name, ratio(db_incr, db_full), INCREMENTAL_DB_RATIO),
        ("wall", ratio(incremental["wall"], full["wall"]), INCREMENTAL_WALL_RATIO),
    ]
    for name, value, limit in checks:
        lines.append(f"- incremental {name} ≤ {limit:g} × full: {value:.4f} → **{verdict(value <= limit)}**")
    return lines


def report(bench: Bench, results: dict, seed_seconds: float, load_start: float) -> str:
    full, incremental, change = results["full"], results["incremental"], results["change"]
    header = (f"### {bench.goods:,} goods\n\n"
              f"Seeded in {seed_seconds:.0f} s, then VACUUM (ANALYZE) in {results['vacuum']:.0f} s."
              f" Changed: {change['goods']:,} goods re-priced ({change['price_rows']:,}"
              f" price rows), {change['stock_rows']:,} stock rows; incremental run saw"
              f" {incremental['changed'].get('goods', 0):,} changed goods. Load average {load_start:.2f} at start,"
              f" {load_average():.2f} at end, {os.cpu_count()} CPUs.")
    parts = [header, "\n".join(stage_table(full, incremental)), "\n".join(io_table(full, incremental)),
             "\n".join(other_table(results)), "Targets:\n\n" + "\n".join(target_lines(bench.goods, full, incremental))]
    return "\n\n".join(parts)


def main() -> None:
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()    # Arrow's allocator, as every entry point sets it
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goods", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the pandas + lxml comparison")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.url, args.tmp, json.loads(args.params), args.result)
    else:
        parent_main(args.goods, args.seed, args.skip_naive)


def parent_main(goods: int, seed_value: int, skip_naive: bool) -> None:
    from shopsync.testing import create_schema_database, drop_database

    load_start = load_average()
    tmp = Path(tempfile.mkdtemp(prefix="shopsync-bench-export-"))
    os.environ.update(SHOPSYNC_LOCAL_DIR=str(tmp / "local"), SHOPSYNC_PHOTOS_DIR=str(tmp / "photos"),
                      SHOPSYNC_EXTRACT_OVERLAP_SECONDS="0")
    url = None
    try:
        url = create_schema_database("shopsync_bench")
        bench = Bench(url=url, tmp=tmp, goods=goods)
        print(f"seeding {goods:,} goods (load average {load_start:.2f})", file=sys.stderr, flush=True)
        seed_seconds = run_child(bench, "seed", goods=goods, seed=seed_value)["wall"]
        vacuum_seconds = vacuum(url)
        print(f"  vacuum: {vacuum_seconds:.1f} s", file=sys.stderr, flush=True)
        results = measure(bench, skip_naive, seed_value)
        results["vacuum"] = vacuum_seconds
        print(report(bench, results, seed_seconds, load_start))
    finally:
        if url:
            drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
