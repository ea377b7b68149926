"""`shopsync ...`: the same functions the DAG tasks call, for operators running single steps by hand."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from shopsync.cli import carriers, catalog, fulfilment, orders, project
from shopsync.core.errors import ShopsyncError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Each area adds its own commands; the calls keep the order `shopsync --help` has always listed them in."""
    parser = argparse.ArgumentParser(prog="shopsync", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    commands = parser.add_subparsers(dest="command", required=True)
    project.add_commands(commands)                # db, seed, shops, demo
    catalog.add_commands(commands)                # export
    orders.add_commands(commands)                 # ingest, replay, orders
    fulfilment.add_commands(commands)             # ship, cancel, pay
    catalog.add_category_commands(commands)       # categories
    orders.add_channel_commands(commands)         # channel
    fulfilment.add_pass_commands(commands)        # fulfil, track, return
    carriers.add_commands(commands)               # carriers
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    """Arguments that could name a place outside the project's own are checked before anything is read."""
    from shopsync.core.config import check_shop_id, plain_name_problem

    if getattr(args, "shop", None) is not None:
        check_shop_id(args.shop)
    if args.command == "replay" and (problem := plain_name_problem(args.name)):
        raise ShopsyncError(f"name: {args.name!r} {problem} (a file in the inbox's quarantine/ directory)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        check_arguments(args)
        from shopsync.core.db import database_failures_as_unavailable

        with database_failures_as_unavailable():
            code = args.handler(args)
        sys.stdout.flush()          # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # the reader (`| head`) has gone: stop quietly; stdout goes to /dev/null so the exit flush is silent
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ShopsyncError as exc:
        print(f"shopsync: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shopsync: interrupted", file=sys.stderr)
        return 130
