"""Time seed_database on a throwaway database: total seconds and the time of each step.

    .venv/bin/python bench/seed.py [--goods 100000] [--seed 42] [--keep-foreign-keys]

Photos go to a temporary directory; the database and the photos are removed afterwards. The load
average is printed too: on a shared machine it explains most of the spread between runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import sqlalchemy as sa

from shopsync.seed import SeedSummary, seed_database
from shopsync.testing import create_schema_database, drop_database


def run(goods: int, seed: int, suspend_foreign_keys: bool) -> tuple[SeedSummary, float]:
    url = create_schema_database("shopsync_bench")
    photos = tempfile.mkdtemp(prefix="shopsync-bench-photos-")
    os.environ["SHOPSYNC_PHOTOS_DIR"] = photos
    engine = sa.create_engine(url)
    try:
        started = time.perf_counter()
        summary = seed_database(engine, goods=goods, seed=seed, suspend_foreign_keys=suspend_foreign_keys)
        return summary, time.perf_counter() - started
    finally:
        engine.dispose()
        drop_database(url)
        shutil.rmtree(photos, ignore_errors=True)


def print_report(summary: SeedSummary, elapsed: float, load_before: float) -> None:
    for line in summary.lines():
        print(line)
    print("\nsteps:")
    for step, seconds in summary.timings.items():
        if seconds >= 0.01:
            print(f"  {step:<36} {seconds:7.2f} s  {100 * seconds / elapsed:5.1f} %")
    print(f"\nseeded {summary.goods:,} goods in {elapsed:.1f} s"
          f" (load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} CPUs)")


def main() -> None:
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()    # Arrow's allocator, as every entry point sets it
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goods", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-foreign-keys", action="store_true",
                        help="check foreign keys row by row during the COPYs instead of suspending them")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    summary, elapsed = run(args.goods, args.seed, suspend_foreign_keys=not args.keep_foreign_keys)
    print_report(summary, elapsed, load_before)


if __name__ == "__main__":
    main()
