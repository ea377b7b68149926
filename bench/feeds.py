"""Feed writer benchmark: N synthetic rows per profile, streamed from a generator to /dev/null.

    .venv/bin/python bench/feeds.py -n 100000 [--profile rozetka_yml ...]

Each profile runs in its own child process, so the peak RSS (resource.getrusage) is that profile's alone;
"base" is the child's RSS after imports, before writing. The rows are generated twice, once alone and once
while writing; "write s" / "write cpu s" are the writer's own wall-clock / CPU seconds (total minus
generation). On a shared machine CPU seconds are the steadier number.
Items: 20 characteristics, 3 pictures, 2 warehouse stocks, 2 wholesale tiers; 20% without model group, the
rest in groups of 4 (so good_id order is also the model-group order woocommerce_csv needs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from shopsync.catalog.feeds import PROFILES, get_writer
from shopsync.catalog.model import (
    CatalogItem,
    Category,
    CertificateRow,
    Characteristic,
    CustomerRow,
    FeedContext,
    WarehouseStock,
    WholesaleTier,
)
from shopsync.core.config import FeedSettings

CATEGORY_COUNT = 200
# Rows share these (frozen) characteristic lists, as rows read from a snapshot share repeated values.
CHARACTERISTIC_SETS = [
    [Characteristic(f"Характеристика {n}", f"значення {variant % (n + 2)}", "см" if n % 4 == 0 else None, f"char_{n}")
     for n in range(20)]
    for variant in range(97)
]


def synthetic_context() -> FeedContext:
    categories = {
        cid: Category(id=cid, parent_id=None if cid <= 10 else (cid % 10) + 1, name=f"Категорія {cid}",
                      name_ua=f"Категорія {cid}", path=("Взуття", f"Категорія {cid}"), external_id=str(4000 + cid))
        for cid in range(1, CATEGORY_COUNT + 1)
    }
    return FeedContext(shop_id="bench", shop_name="Bench shop", company="ТОВ «Бенч»", url="https://bench.example",
                       currency="UAH", generated_at=datetime(2025, 1, 2, 3, 4), categories=categories)


def synthetic_items(count: int) -> Iterator[CatalogItem]:
    ungrouped = count // 5
    for good_id in range(1, count + 1):
        grouped = good_id > ungrouped
        price = Decimal(good_id % 5000 + 100) + Decimal("0.99")
        yield CatalogItem(
            good_id=good_id, name=f"Туфлі жіночі модель {good_id // 4} чорний {36 + good_id % 4}",
            price=price, old_price=price + 100 if good_id % 3 == 0 else None, wholesale_price=price - 10,
            free_stock=good_id % 7, warehouses=[WarehouseStock(1, Decimal(good_id % 4)), WarehouseStock(2, Decimal(1))],
            category_id=good_id % CATEGORY_COUNT + 1, article=f"ART-{good_id // 4}",
            barcode=f"{2000000000000 + good_id}",
            name_ua=f"Туфлі жіночі {good_id}", description=f"<p>Опис товару {good_id} &amp; деталі</p>" * 3,
            description_ua=f"<p>Опис {good_id}</p>", brand="Брендо", country="Україна", collection="Весна",
            model_group_id=(good_id - ungrouped - 1) // 4 + 1 if grouped else None,
            size=str(36 + good_id % 4), color="чорний", season="весна", sex=1,
            characteristics=CHARACTERISTIC_SETS[good_id % len(CHARACTERISTIC_SETS)],
            wholesale_tiers=[WholesaleTier(Decimal(5), price - 20), WholesaleTier(Decimal(20), price - 40)],
            pictures=[f"https://bench.example/photos/detail/{good_id}_{n}.jpg" for n in range(3)],
            photo_names=[f"{good_id}_{n}.jpg" for n in range(3)],
        )


def synthetic_customers(count: int) -> Iterator[CustomerRow]:
    for customer_id in range(1, count + 1):
        yield CustomerRow(customer_id, f"Іваненко Іван {customer_id}", f"+38050{customer_id:07d}",
                          f"c{customer_id}@example.com", "Київ", "Київська", "Відділення 5", "вул. Хрещатик, 1",
                          f"{customer_id:08d}", Decimal(5), Decimal("12.50"))


def synthetic_certificates(count: int) -> Iterator[CertificateRow]:
    for number in range(1, count + 1):
        yield CertificateRow(f"{2900000000000 + number}", Decimal(500), "UAH", "active", date(2026, 1, 1))


def rows_for(kind: str, count: int) -> Iterator[object]:
    return {"catalog": synthetic_items, "customers": synthetic_customers,
            "certificates": synthetic_certificates}[kind](count)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: kilobytes


def run_one(profile: str, count: int) -> dict[str, object]:
    writer = get_writer(profile)
    ctx = synthetic_context()
    settings = FeedSettings(profile=profile)
    base = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in rows_for(writer.shape.rows, count):
        pass
    generate_wall, generate_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "wb") as out:
        stats = writer.write(rows_for(writer.shape.rows, count), out, ctx, settings)
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"profile": profile, "rows": stats.rows, "mb": round(stats.bytes / 1e6, 1),
            "write_s": round(total_wall - generate_wall, 2), "write_cpu_s": round(total_cpu - generate_cpu, 2),
            "generate_cpu_s": round(generate_cpu, 2), "base_rss_mb": round(base, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()    # Arrow's allocator, as every entry point sets it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="rows per profile")
    parser.add_argument("--profile", action="append", choices=PROFILES, help="profiles to run (default: all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.profile[0], args.n)))
        return
    print(f"{'profile':22} {'rows':>7} {'MB':>6} {'write s':>8} {'write cpu s':>11} {'gen cpu s':>9} "
          f"{'base RSS':>9} {'peak RSS':>9}")
    for profile in args.profile or PROFILES:
        child = subprocess.run([sys.executable, __file__, "--child", "--profile", profile, "-n", str(args.n)],
                               check=True, capture_output=True, text=True)
        result = json.loads(child.stdout)
        print(f"{profile:22} {result['rows']:>7} {result['mb']:>6} {result['write_s']:>8} {result['write_cpu_s']:>11} "
              f"{result['generate_cpu_s']:>9} {result['base_rss_mb']:>8}M {result['peak_rss_mb']:>8}M")


if __name__ == "__main__":
    main()
