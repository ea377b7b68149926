"""`shopsync export|categories`: the catalog side by hand (catalog/pipeline.py, catalog/category_files.py)."""

from __future__ import annotations

import argparse
import sys


def cmd_export(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from shopsync.catalog.pipeline import run_export, summary_lines
    from shopsync.catalog.run import ExportRun
    from shopsync.catalog.validation.rules import FeedValidationError
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine

    shop = get_shop(args.shop)
    # By hand there is no schedule: the window starts where the last export stopped reading.
    end = datetime.now(UTC).replace(microsecond=0)
    run = ExportRun(shop=shop, interval_start=end, interval_end=end, full=args.full, allow_shrink=args.allow_shrink,
                    ignore_publish_order=args.ignore_publish_order)
    try:
        summary = run_export(get_engine(), run, dry_run=args.dry_run)
    except FeedValidationError as exc:
        print(f"shopsync: validation blocked the feeds: {exc}", file=sys.stderr)
        return 3
    for line in summary_lines(summary):
        print(line)
    out_dir = run.workspace.out_dir(summary["run"])
    if args.dry_run:
        print(f"dry run: nothing published; the feeds are in {out_dir}")
    else:
        print(f"published to {shop.destination.kind}:{shop.destination.path}; run files in {out_dir.parent}")
    return 0


def cmd_categories(args: argparse.Namespace) -> int:
    """A marketplace's category map as CSV: export to stdout, or import a file (catalog/category_files.py)."""
    from pathlib import Path

    from shopsync.catalog.category_files import export_command, import_command
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine

    shop = get_shop(args.shop)
    if args.categories_command == "export":
        return export_command(get_engine(), shop, args.channel, sys.stdout, sys.stderr)
    return import_command(get_engine(), shop, args.channel, Path(args.file), sys.stdout, sys.stderr)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync export`: a shop's feeds built, validated and published without Airflow."""
    export = commands.add_parser("export", help="run a shop's catalog export without Airflow")
    export.add_argument("--shop", required=True, help="shop id (include/shops/<id>.yaml)")
    export.add_argument("--full", action="store_true", help="re-extract everything instead of what changed")
    export.add_argument("--dry-run", action="store_true", help="build and validate the feeds; publish nothing")
    export.add_argument("--allow-shrink", action="store_true",
                        help="publish even if a feed loses more than the shop's max_drop_percent of its offers")
    export.add_argument("--ignore-publish-order", action="store_true",
                        help="publish even if the destination shows data read later (after a database restore)")
    export.set_defaults(handler=cmd_export)


def add_category_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync categories export|import`: a marketplace's category map as CSV."""
    from shopsync.core.config import MAP_CHANNELS

    categories = commands.add_parser("categories", help="a shop's category map per marketplace, as CSV")
    map_commands = categories.add_subparsers(dest="categories_command", required=True)
    for action, text in (("export", "the map as CSV on stdout, one line per category of ours, mapped or not"),
                         ("import", "replace the map with a CSV file: validated first, all or nothing")):
        command = map_commands.add_parser(action, help=text)
        command.add_argument("--shop", required=True)
        command.add_argument("--channel", required=True, choices=MAP_CHANNELS, help="whose ids the map holds")
        if action == "import":
            command.add_argument("file", metavar="FILE", help="CSV as export writes it (UTF-8, `,` or `;`)")
        command.set_defaults(handler=cmd_categories)
