"""`shopsync carriers refresh|find`: the carriers' directories of cities and branches (carriers/directory.py)."""

from __future__ import annotations

import argparse


def cmd_carriers(args: argparse.Namespace) -> int:
    """Refresh a carrier's directory, or show where an order's city and branch resolve (carriers/directory.py)."""
    from shopsync.carriers import directory
    from shopsync.core.db import get_engine

    engine = get_engine()
    if args.carriers_command == "refresh":
        source = directory.open_directory(args.kind, args.conn_id)
        print(directory.refresh(engine, source, allow_shrink=args.allow_shrink).line())
        return 0
    with engine.connect() as conn:
        place = directory.resolve_place(conn, args.kind, args.city, args.branch, args.branch_ref, args.address)
    print(directory.describe(place))
    return 0 if isinstance(place, directory.Place) else 1


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync carriers refresh|find`."""
    from shopsync.core.fulfilment_settings import CARRIER_KINDS

    carriers = commands.add_parser("carriers", help="the carriers' directories of cities and branches")
    carrier_commands = carriers.add_subparsers(dest="carriers_command", required=True)
    refresh = carrier_commands.add_parser("refresh", help="copy a carrier's cities and branches (as the weekly DAG)")
    refresh.add_argument("--kind", required=True, choices=CARRIER_KINDS)
    refresh.add_argument("--conn-id", help="Airflow Connection to use (default: the first shop's with this carrier)")
    refresh.add_argument("--allow-shrink", action="store_true",
                         help="accept an answer that closes more than half of the cities or branches")
    refresh.set_defaults(handler=cmd_carriers)
    find = carrier_commands.add_parser("find", help="where an order's city and branch resolve in the directory")
    find.add_argument("--kind", required=True, choices=CARRIER_KINDS)
    find.add_argument("--city", help="as the order names it, e.g. \"м. Київ\" or \"Петрівка, Одеська обл.\"")
    find.add_argument("--branch", help="e.g. \"Відділення №33\", \"Поштомат 5012\", \"33\" (Ukrposhta: the postcode)")
    find.add_argument("--branch-ref", help="the carrier's branch id a marketplace gave (Prom's recipient_warehouse_id)")
    find.add_argument("--address", help="the order's address text (a branch number or postcode in it is used)")
    find.set_defaults(handler=cmd_carriers)
