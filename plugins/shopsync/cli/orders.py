"""`shopsync ingest|replay|orders|channel`: order files, the invoices and what needs a person, the channels' APIs."""

from __future__ import annotations

import argparse

from shopsync.core.channel_settings import INVOICE_STATES
from shopsync.core.errors import ShopsyncError


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


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync ingest`, `replay`, `orders`."""
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


def add_channel_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync channel pull|push|stock|sync`: what the channel sync DAG runs, for one shop by hand."""
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
