"""`shopsync ...`: the same functions the DAG tasks call, for operators running single steps by hand."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence

from shopsync.core.channel_settings import INVOICE_STATES
from shopsync.core.errors import ShopsyncError

Handler = Callable[[argparse.Namespace], int]


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


def print_order_problems(orders: list[dict]) -> None:
    """One line per flagged, conflicting or rejected order of a file, with its reasons."""
    for order in orders:
        if order["status"] in ("rejected", "flagged", "conflict"):
            print(f"    order {order['order_number'] or '#' + str(order['position'])}: {order['status']}: "
                  + "; ".join(order["reasons"]))


def cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.apply_file import ingest_bytes

    refused = 0                             # files not read (not a regular file, too large)
    shop = get_shop(args.shop)
    engine = get_engine()
    totals = {"applied": 0, "skipped": 0, "flagged": 0, "rejected": 0, "conflicts": 0}
    for name in args.files:
        path = Path(name)
        data = read_order_file(path)
        if data is None:
            refused += 1
            continue
        outcome = ingest_bytes(engine, shop, path.name, data, dry_run=args.dry_run)
        print(("[dry run] " if args.dry_run else "") + outcome.summary_line().replace(" -> archived", "").replace(
            " -> quarantined", " (would be quarantined)" if args.dry_run else " (see order_files for reasons)"))
        print_order_problems(outcome.orders)
        for key in totals:
            totals[key] += getattr(outcome, key)
    print("total: " + ", ".join(f"{value} {key}" for key, value in totals.items())
          + (f", {refused} file(s) not read" if refused else ""))
    return 1 if refused else 0


def read_order_file(path) -> bytes | None:
    """A local order file's bytes; None (with a line saying why) when it is not a regular file or too large."""
    import stat as stat_module

    from shopsync.orders.formats import MAX_FILE_BYTES

    try:
        status = path.stat()
    except OSError as exc:
        raise ShopsyncError(f"{path}: cannot read: {exc.strerror}") from None
    if not stat_module.S_ISREG(status.st_mode):
        print(f"{path}: not a regular file; not read")
        return None
    if status.st_size > MAX_FILE_BYTES:
        print(f"{path}: the file is too large ({status.st_size / 2**20:.1f} MB, the limit is "
              f"{MAX_FILE_BYTES // 2**20} MB); not read")
        return None
    try:
        with path.open("rb") as stream:
            return stream.read(MAX_FILE_BYTES + 1)  # grown past the limit meanwhile: parsing refuses it
    except OSError as exc:
        raise ShopsyncError(f"{path}: cannot read: {exc.strerror}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.core.paths import project_root
    from shopsync.orders.inbox import open_inbox
    from shopsync.orders.replay import replay_quarantined

    shop = get_shop(args.shop)
    try:
        fixed = Path(args.fixed).read_bytes() if args.fixed else None
    except OSError as exc:
        raise ShopsyncError(f"{args.fixed}: cannot read: {exc.strerror}") from None
    inbox = open_inbox(shop.orders_inbox, project_root())
    try:
        outcome = replay_quarantined(get_engine(), shop, inbox, args.name, fixed)
    finally:
        inbox.close()
    print(outcome.summary_line())
    print_order_problems(outcome.orders)
    return 0 if not outcome.quarantined else 4


def cmd_orders(args: argparse.Namespace) -> int:
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.channel_pull import order_problems
    from shopsync.orders.workflow import list_invoices, open_conflicts, resolve_conflict

    shop = get_shop(args.shop)
    if args.resolve_conflict is not None:
        with get_engine().begin() as conn:
            invoice_id = resolve_conflict(conn, shop.id, args.resolve_conflict, args.note)
        print(f"conflict {args.resolve_conflict} resolved; invoice {invoice_id} no longer lists it")
        return 0
    with get_engine().connect() as conn:
        rows = list_invoices(conn, shop.id, args.status, args.attention)
        conflicts = open_conflicts(conn, shop.id)
        problems = order_problems(conn, shop.id)
    if not rows:
        print(f"no invoices for shop {shop.id}" + (f" with status {args.status}" if args.status else "")
              + (" needing attention" if args.attention else ""))
    else:
        print(f"{'invoice':>8} {'order':<16} {'status':<10} {'payment':<8} {'total':>10}  "
              f"{'channel':<22} {'waybill':<16} {'delivery':<12} {'COD':<20} attention")
    for row in rows:
        print(invoice_line(row))
    print_open_conflicts(shop.id, conflicts)
    print_channel_problems(problems)
    return 0


def invoice_line(row) -> str:
    """One invoice: number, status, payment, total, the channel's id and status there, the waybill, why it needs a
    person (its flags, and a state the channel refused)."""
    mapping = row._mapping
    channel = ""
    if mapping["channel"]:
        channel = f"{mapping['channel']} {mapping['external_id']} [{mapping['external_status']}]"
    reasons = list(mapping.get("attention_reasons") or [])
    if mapping["channel_refused"]:
        reasons.append(f"{mapping['channel']} refused the last status: {mapping['channel_error']}")
    return (f"{mapping['id']:>8} {mapping['external_number']:<16} {mapping['status']:<10} "
            f"{mapping['payment_status']:<8} {mapping['total']:>10}  {channel:<22} {mapping['waybill'] or '':<16} "
            f"{delivery_text(mapping):<12} {cod_text(mapping):<20} {'; '.join(reasons)}")


def delivery_text(mapping) -> str:
    """The shipment's delivery state as tracking last saw it (or where the shipment stands before a waybill)."""
    if mapping.get("delivery_state"):
        return mapping["delivery_state"]
    return mapping.get("shipment_state") or ""


def cod_text(mapping) -> str:
    """Cash on delivery: the amount and whether the carrier paid it out."""
    if not mapping.get("cod_amount"):
        return ""
    if mapping.get("cod_paid_at"):
        return f"{mapping['cod_paid_amount']} collected"
    return f"{mapping['cod_amount']} due"


def print_channel_problems(problems: list) -> None:
    """Channel orders that could not land: kept whole, tried again by every pull."""
    if not problems:
        return
    print(f"needs attention: {len(problems)} channel order(s) could not land (kept; every pull tries again):")
    for problem in problems:
        print(f"  {problem.channel} order {problem.external_id}, seen {problem.times_seen} time(s) since "
              f"{problem.first_seen:%Y-%m-%d %H:%M}: {'; '.join(problem.reasons)}")


def print_open_conflicts(shop_id: str, conflicts: list) -> None:
    """The order numbers sent again with other content that need a person, and how to close each."""
    if not conflicts:
        return
    print(f"needs attention: {len(conflicts)} order(s) sent again with other content (the invoice keeps the first):")
    for conflict in conflicts:
        seen = f", seen {conflict.times_seen} times" if conflict.times_seen > 1 else ""
        print(f"  conflict {conflict.id}: order {conflict.external_number} (invoice {conflict.invoice_id}) "
              f"in {conflict.file_name or 'no file'} on {conflict.created_at:%Y-%m-%d %H:%M}{seen}: different "
              f"{', '.join(conflict.differs)}")
    print(f"  when dealt with: shopsync orders --shop {shop_id} --resolve-conflict <id> [--note TEXT]")


def _invoice_id(conn, shop_id: str, args: argparse.Namespace) -> int:
    from shopsync.orders.fulfilment.shipping import find_invoice

    return find_invoice(conn, shop_id, number=args.invoice, invoice_id=args.id)


def cmd_ship(args: argparse.Namespace) -> int:
    """Ask for an invoice's waybill (it becomes 'ready'); `--now` runs the shipping pass at once."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.shipping import ShippingIncomplete, request_shipment, ship_ready

    shop, engine = get_shop(args.shop), get_engine()
    with engine.begin() as conn:
        invoice_id = _invoice_id(conn, shop.id, args)
        shipment_id = request_shipment(conn, shop, invoice_id, args.carrier, args.weight, args.seats)
    print(f"invoice {args.invoice or invoice_id}: shipment {shipment_id} requested"
          + ("" if args.now else "; the next fulfilment pass creates the waybill"))
    if not args.now:
        return 0
    try:
        summary = ship_ready(engine, shop)
    except ShippingIncomplete as incomplete:
        summary = incomplete.summary
    print(summary.line())
    for line in summary.details():
        print(line)
    return 0 if not (summary.failed or summary.pending) else 4


def cmd_cancel(args: argparse.Namespace) -> int:
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.shipping import cancel_invoice

    shop, engine = get_shop(args.shop), get_engine()
    with engine.connect() as conn:
        invoice_id = _invoice_id(conn, shop.id, args)
    released = cancel_invoice(engine, shop, invoice_id, args.reason)
    goods = ", ".join(f"good {good} x {quantity:g}" for good, quantity in sorted(released.items())) or "nothing"
    print(f"invoice {args.invoice or invoice_id} cancelled ({args.reason}); released: {goods}")
    return 0


def cmd_pay(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.shipping import record_prepayment

    shop = get_shop(args.shop)
    reference = args.reference or f"manual {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
    with get_engine().begin() as conn:
        invoice_id = _invoice_id(conn, shop.id, args)
        result = record_prepayment(conn, invoice_id, args.amount, reference)
    told = "recorded" if result.recorded else "already recorded (same reference): not counted again"
    print(f"invoice {args.invoice or invoice_id}: payment {args.amount} {told}; prepaid {result.prepaid} of "
          f"{result.total}, payment status {result.payment_status}")
    return 0


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


def cmd_channel(args: argparse.Namespace) -> int:
    """Pull, push statuses, push stock or all three for a shop's channel(s), as the channel sync DAG does."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders import channel_sync

    shop = get_shop(args.shop)
    channels = [shop.channel(args.channel)] if args.channel else shop.channels
    if not channels:
        print(f"shop {shop.id} has no channels in its settings (channels: in include/shops/{shop.id}.yaml)")
        return 0
    steps = ("pull", "push", "stock") if args.channel_command == "sync" else (args.channel_command,)
    engine = get_engine()
    for channel in channels:
        for step in steps:
            summary = channel_sync.STEPS[step](engine, shop, channel)
            print(f"{step}: {channel.kind}: off in the shop's settings" if summary is None else summary.line())
    return 0


def cmd_fulfil(args: argparse.Namespace) -> int:
    """One fulfilment pass of a shop, as its DAG runs it: ship ready invoices, track, mail buyers, report."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.report import FulfilmentReport
    from shopsync.orders.fulfilment.run import fulfil

    shop = get_shop(args.shop)
    result = fulfil(get_engine(), shop)
    for step in ("ship", "track", "notify"):
        print(f"{step}: " + ("off in the shop's settings" if result[step] is None else _counts(result[step])))
    for line in FulfilmentReport(**result["report"]).lines():
        print(line)
    return 0


def _counts(summary: dict) -> str:
    return ", ".join(f"{key} {len(value) if isinstance(value, list) else value}" for key, value in summary.items()
                     if isinstance(value, int | list) and not isinstance(value, bool)) or "done"


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


def cmd_track(args: argparse.Namespace) -> int:
    """One tracking pass by hand: what the carriers say about the shop's open shipments, applied."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.tracking import TrackingIncomplete, TrackingRefused, track_open

    try:
        summary = track_open(get_engine(), get_shop(args.shop))
    except (TrackingIncomplete, TrackingRefused) as exc:
        summary = exc.summary
        print("\n".join([summary.line(), *summary.details()]))
        raise
    print("\n".join([summary.line(), *summary.details()]))
    return 0


def cmd_return(args: argparse.Namespace) -> int:
    """A person confirms a refused parcel's goods are back in the warehouse."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.tracking import invoice_of_number, record_return

    shop, engine = get_shop(args.shop), get_engine()
    invoice_id = args.id if args.id is not None else invoice_of_number(engine, shop.id, args.invoice)
    returned = record_return(engine, shop, invoice_id)
    goods = ", ".join(f"good {good_id}: {quantity.normalize():f}" for good_id, quantity in sorted(returned.items()))
    print(f"invoice {args.invoice or invoice_id} returned; back on hand: {goods or 'nothing recorded as shipped'}")
    return 0


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


def cmd_demo(args: argparse.Namespace) -> int:
    from shopsync.demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    from shopsync.core.config import MAP_CHANNELS

    parser = argparse.ArgumentParser(prog="shopsync", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    commands = parser.add_subparsers(dest="command", required=True)

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

    export = commands.add_parser("export", help="run a shop's catalog export without Airflow")
    export.add_argument("--shop", required=True, help="shop id (include/shops/<id>.yaml)")
    export.add_argument("--full", action="store_true", help="re-extract everything instead of what changed")
    export.add_argument("--dry-run", action="store_true", help="build and validate the feeds; publish nothing")
    export.add_argument("--allow-shrink", action="store_true",
                        help="publish even if a feed loses more than the shop's max_drop_percent of its offers")
    export.add_argument("--ignore-publish-order", action="store_true",
                        help="publish even if the destination shows data read later (after a database restore)")
    export.set_defaults(handler=cmd_export)

    ingest = commands.add_parser("ingest", help="apply order files by hand (the same code as the DAG)")
    ingest.add_argument("--shop", required=True, help="shop id (include/shops/<id>.yaml)")
    ingest.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.set_defaults(handler=cmd_ingest)

    replay = commands.add_parser("replay", help="apply a quarantined order file again, after fixing it")
    replay.add_argument("--shop", required=True)
    replay.add_argument("name", help="the file's name in the inbox's quarantine/ directory")
    replay.add_argument("--fixed", metavar="FILE", help="a corrected copy to apply instead of the quarantined bytes")
    replay.set_defaults(handler=cmd_replay)

    orders = commands.add_parser("orders", help="list a shop's invoices by status, and what needs attention")
    orders.add_argument("--shop", required=True)
    orders.add_argument("--status", choices=INVOICE_STATES)
    orders.add_argument("--attention", action="store_true", help="only invoices that need a person to look")
    orders.add_argument("--resolve-conflict", type=int, metavar="ID",
                        help="mark an order sent again with other content as dealt with")
    orders.add_argument("--note", default="resolved by hand", help="what was done (with --resolve-conflict)")
    orders.set_defaults(handler=cmd_orders)

    _fulfilment_commands(commands)

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

    channel = commands.add_parser("channel", help="a shop's marketplaces by API: pull orders, push statuses and stock")
    actions = channel.add_subparsers(dest="channel_command", required=True)
    for action, text in (("pull", "pull orders created or changed since the last pull"),
                         ("push", "push invoice states (status, waybill) the channel has not acknowledged"),
                         ("stock", "push free stock and prices that changed (Prom, WooCommerce)"),
                         ("sync", "pull, then push statuses, then stock")):
        step = actions.add_parser(action, help=text)
        step.add_argument("--shop", required=True)
        step.add_argument("--channel", choices=["prom", "rozetka", "woocommerce"], help="one channel (default: all)")
        step.set_defaults(handler=cmd_channel)

    fulfil = commands.add_parser("fulfil", help="one fulfilment pass: waybills for ready invoices, tracking, buyer "
                                                "e-mails, and the report (what shipped, waits, is stuck; COD owed)")
    fulfil.add_argument("--shop", required=True)
    fulfil.set_defaults(handler=cmd_fulfil)

    track = commands.add_parser("track", help="one tracking pass: carrier statuses of open shipments applied")
    track.add_argument("--shop", required=True)
    track.set_defaults(handler=cmd_track)

    goods_back = commands.add_parser("return", help="confirm a refused parcel's goods are back: stock on hand")
    goods_back.add_argument("--shop", required=True)
    which = goods_back.add_mutually_exclusive_group(required=True)
    which.add_argument("--invoice", help="the invoice's number as the shop knows it (e.g. PROM-123)")
    which.add_argument("--id", type=int, help="the invoice's internal id")
    goods_back.set_defaults(handler=cmd_return)
    add_carrier_commands(commands)
    return parser


def _invoice_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--shop", required=True)
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("--invoice", metavar="N", help="the order number as the shop knows it (e.g. PROM-123)")
    which.add_argument("--id", type=int, help="our invoice id instead")


def _fulfilment_commands(commands) -> None:
    """ship, cancel, pay: the person's side of fulfilment (orders/fulfilment/shipping.py)."""
    from decimal import Decimal

    ship = commands.add_parser("ship", help="ask for an invoice's waybill: it becomes ready; the pass creates it")
    _invoice_arguments(ship)
    ship.add_argument("--carrier", choices=["nova_poshta", "ukrposhta"], help="default: the shop's first carrier")
    ship.add_argument("--weight", type=Decimal, metavar="KG", help="parcel weight (default: the carrier's parcel)")
    ship.add_argument("--seats", type=int, help="number of boxes (default: the carrier's parcel)")
    ship.add_argument("--now", action="store_true", help="run the shipping pass right away and print it")
    ship.set_defaults(handler=cmd_ship)

    cancel = commands.add_parser("cancel", help="cancel a reserved or ready invoice (before its waybill exists)")
    _invoice_arguments(cancel)
    cancel.add_argument("--reason", required=True)
    cancel.set_defaults(handler=cmd_cancel)

    pay = commands.add_parser("pay", help="record a prepayment; paid once the prepayments cover the total")
    _invoice_arguments(pay)
    pay.add_argument("--amount", type=Decimal, required=True)
    pay.add_argument("--reference", help="the transfer's reference (the same one twice counts once)")
    pay.set_defaults(handler=cmd_pay)


def add_carrier_commands(commands: argparse._SubParsersAction) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
