"""`shopsync ship|cancel|pay|fulfil|track|return`: the person's side of fulfilment and its passes by hand."""

from __future__ import annotations

import argparse


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


def cmd_fulfil(args: argparse.Namespace) -> int:
    """One fulfilment pass of a shop, as its DAG runs it: ship ready invoices, track, mail buyers, report."""
    from shopsync.core.config import get_shop
    from shopsync.core.db import get_engine
    from shopsync.orders.fulfilment.report import FulfilmentReport
    from shopsync.orders.fulfilment.run import fulfil

    shop = get_shop(args.shop)
    result, failures = fulfil(get_engine(), shop)
    for step in ("ship", "track", "notify"):
        print(f"{step}: " + ("off in the shop's settings" if result[step] is None else _counts(result[step])))
    for line in FulfilmentReport(**result["report"]).lines():
        print(line)
    if failures:
        raise failures[0]
    return 0


def _counts(summary: dict) -> str:
    counts = ", ".join(f"{key} {len(value) if isinstance(value, list) else value}" for key, value in summary.items()
                       if isinstance(value, int | list) and not isinstance(value, bool)) or "done"
    return counts + (f"; failed: {summary['error']}" if summary.get("error") else "")


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


def _invoice_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--shop", required=True)
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("--invoice", metavar="N", help="the order number as the shop knows it (e.g. PROM-123)")
    which.add_argument("--id", type=int, help="our invoice id instead")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync ship`, `cancel`, `pay`: the person's side of fulfilment (orders/fulfilment/shipping.py)."""
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


def add_pass_commands(commands: argparse._SubParsersAction) -> None:
    """`shopsync fulfil`, `track`, `return`: one pass of the fulfilment DAG, or of its tracking, by hand; a
    person confirming returned goods."""
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
