"""`shopsync db|seed|shops|demo`: the accounting database, synthetic data, the configured shops, the demo."""

from __future__ import annotations

import argparse
import time


def cmd_db_init(args: argparse.Namespace) -> int:
    from shopsync.core.db import get_engine, redact
    from shopsync.core.schema import current_version, init_schema

    engine = get_engine()
    applied = init_schema(engine)
    version = current_version(engine)
    if applied:
        names = ", ".join(f"{m.version:03d}_{m.name}" for m in applied)
        print(f"schema at version {version} on {redact(engine.url)} (applied now: {names})")
    else:
        print(f"schema already at version {version} on {redact(engine.url)}; nothing to do")
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    from shopsync.core.db import get_engine, redact

    engine = get_engine()
    print(engine.url.render_as_string(hide_password=False) if args.show_password else redact(engine.url))
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    from shopsync.core.db import get_engine, redact
    from shopsync.core.health import table_counts

    engine = get_engine()
    print(f"database: {redact(engine.url)}")
    for table, count in table_counts(engine).items():
        print(f"  {table:<24} {count:>10,}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from shopsync.core.db import get_engine
    from shopsync.core.schema import init_schema
    from shopsync.seed import seed_database

    engine = get_engine()
    init_schema(engine)
    started = time.perf_counter()
    summary = seed_database(engine, goods=args.goods, seed=args.seed)
    elapsed = time.perf_counter() - started
    for line in summary.lines():
        print(line)
    print(f"seeded {args.goods:,} goods in {elapsed:.1f} s")
    return 0


def cmd_shops(args: argparse.Namespace) -> int:
    from shopsync.core.config import load_shop, shop_files
    from shopsync.core.paths import shops_dir

    directory = shops_dir()
    files = shop_files(directory)
    if not files:
        print(f"no shops configured in {directory}")
        return 1
    print(f"shop settings in {directory}:")
    for path in files:
        shop = load_shop(path)
        feeds = ", ".join(feed.profile for feed in shop.feeds)
        print(f"  {shop.id:<12} {shop.name} ({shop.url})")
        print(f"      file: {path}")
        print(f"      feeds: {feeds}")
        print(f"      destination: {shop.destination.kind} {shop.destination.path}")
        print(f"      orders inbox: {shop.orders_inbox.kind} {shop.orders_inbox.path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shopsync.demo import run_demo

    return run_demo()


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync db init|url|status`, `seed`, `shops`, `demo`."""
    db = commands.add_parser("db", help="the accounting database").add_subparsers(dest="db_command", required=True)
    db.add_parser("init", help="create or upgrade the schema").set_defaults(handler=cmd_db_init)
    url = db.add_parser("url", help="print the accounting database URL (password hidden)")
    url.add_argument("--show-password", action="store_true")
    url.set_defaults(handler=cmd_db_url)
    db.add_parser("status", help="row counts of the main tables").set_defaults(handler=cmd_db_status)

    seed = commands.add_parser("seed", help="fill the database with realistic synthetic data")
    seed.add_argument("--goods", type=int, default=1000, help="number of goods (default 1000)")
    seed.add_argument("--seed", type=int, default=42, help="random seed: the same seed gives the same data")
    seed.set_defaults(handler=cmd_seed)

    commands.add_parser("shops", help="list configured shops").set_defaults(handler=cmd_shops)
    commands.add_parser("demo", help="run the demo shop end to end with real Airflow DAG runs").set_defaults(
        handler=cmd_demo)
