"""Free stock, defined once (the free_stock view), and the reservation moves that change it.

Locking rule: whoever reserves or ships first locks the `stock` rows involved with one
`SELECT ... ORDER BY good_id, warehouse_id FOR UPDATE` (the SQL function shopsync_lock_stock),
and only then reads free stock.
Every transaction taking its row locks in that one order is what keeps concurrent orders
from overselling and from deadlocking each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import sqlalchemy as sa

from shopsync.core.sql import sql_statement


def _statement(name: str) -> sa.TextClause:
    return sql_statement(f"orders/{name}.sql")


def _int_list(values: Iterable[int]) -> list[int]:
    return sorted({int(value) for value in values})


def free_stock(
    conn: sa.Connection, good_ids: Iterable[int] | None, warehouse_ids: Iterable[int]
) -> dict[int, Decimal]:
    """Free stock per good summed over `warehouse_ids`; every asked-for good is present (0 when none).

    `good_ids=None` means every good that has stock at those warehouses.
    """
    wanted = None if good_ids is None else _int_list(good_ids)
    rows = conn.execute(
        _statement("free_stock_by_good"), {"good_ids": wanted, "warehouse_ids": _int_list(warehouse_ids)}
    )
    found = {row.good_id: row.free for row in rows}
    if wanted is None:
        return found
    return {good_id: found.get(good_id, Decimal(0)) for good_id in wanted}


def lock_stock(conn: sa.Connection, good_ids: Iterable[int], warehouse_ids: Iterable[int]) -> None:
    """Lock the stock rows of these goods at these warehouses, in (good_id, warehouse_id) order."""
    goods = _int_list(good_ids)
    if goods:
        conn.execute(_statement("lock_stock"), {"good_ids": goods, "warehouse_ids": _int_list(warehouse_ids)})


def reserve_lines(
    conn: sa.Connection, invoice_id: int, lines: Sequence[tuple[int, int, Decimal]], warehouse_ids: Iterable[int],
) -> dict[int, Decimal]:
    """Reserve every (line_no, good_id, quantity) of an invoice, each up to what is free, warehouse id
    ascending, lines in the given order; returns what each line got.

    One statement: the PL/pgSQL function shopsync_reserve_lines (the step shopsync_apply_order takes too)
    locks the stock rows of all the lines' goods in (good_id, warehouse_id) order, then reads their free
    stock, inserts the reservations and adds them to the lines' reserved quantity.
    """
    if not lines:
        return {}
    rows = conn.execute(_statement("reserve_lines"), {
        "invoice_id": invoice_id,
        "line_nos": [line_no for line_no, _, _ in lines],
        "good_ids": [good_id for _, good_id, _ in lines],
        "quantities": [Decimal(quantity) for _, _, quantity in lines],
        "warehouse_ids": _int_list(warehouse_ids),
    })
    return {row.line_no: row.reserved for row in rows}


def release_invoice(conn: sa.Connection, invoice_id: int) -> dict[int, Decimal]:
    """Release the invoice's active reservations (free stock returns); returns released quantity per good."""
    rows = conn.execute(_statement("release_reservations"), {"invoice_id": invoice_id}).all()
    conn.execute(_statement("reset_line_reserved"), {"invoice_id": invoice_id})
    return _sum_by_good(rows)


def ship_invoice(conn: sa.Connection, invoice_id: int) -> dict[int, Decimal]:
    """Active reservations become 'shipped' and on-hand stock drops by them; returns shipped quantity per good.

    Reservations are closed before on_hand drops: the other way round free stock would briefly be
    negative and the guard trigger would refuse the stock update.
    """
    keys = conn.execute(_statement("active_reservation_stock_keys"), {"invoice_id": invoice_id}).all()
    lock_stock(conn, {key.good_id for key in keys}, {key.warehouse_id for key in keys})
    shipped = conn.execute(_statement("ship_reservations"), {"invoice_id": invoice_id}).all()
    by_place: dict[tuple[int, int], Decimal] = {}
    for row in shipped:
        place = (row.good_id, row.warehouse_id)
        by_place[place] = by_place.get(place, Decimal(0)) + row.quantity
    if by_place:
        places = sorted(by_place)
        conn.execute(_statement("decrease_on_hand"), {
            "good_ids": [good for good, _ in places],
            "warehouse_ids": [warehouse for _, warehouse in places],
            "quantities": [by_place[place] for place in places],
        })
    return _sum_by_good(shipped)


def return_goods(conn: sa.Connection, places: Iterable[tuple[int, int, Decimal]]) -> dict[int, Decimal]:
    """Goods back in the warehouse (a returned parcel): on hand grows by each (good_id, warehouse_id, quantity);
    returns the quantity per good.

    The stock rows are locked in (good_id, warehouse_id) order first, the order every reservation and shipment
    takes them in, so a return never deadlocks an order being reserved at the same moment.
    """
    by_place: dict[tuple[int, int], Decimal] = {}
    for good_id, warehouse_id, quantity in places:
        if quantity > 0:
            place = (int(good_id), int(warehouse_id))
            by_place[place] = by_place.get(place, Decimal(0)) + Decimal(quantity)
    if not by_place:
        return {}
    ordered = sorted(by_place)
    lock_stock(conn, {good for good, _ in ordered}, {warehouse for _, warehouse in ordered})
    conn.execute(_statement("increase_on_hand"), {
        "good_ids": [good for good, _ in ordered],
        "warehouse_ids": [warehouse for _, warehouse in ordered],
        "quantities": [by_place[place] for place in ordered],
    })
    totals: dict[int, Decimal] = {}
    for (good_id, _), quantity in by_place.items():
        totals[good_id] = totals.get(good_id, Decimal(0)) + quantity
    return totals


def _sum_by_good(rows: Iterable[sa.Row]) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for row in rows:
        totals[row.good_id] = totals.get(row.good_id, Decimal(0)) + row.quantity
    return totals


def shop_warehouses(conn: sa.Connection, configured: Iterable[int]) -> list[int]:
    """The warehouses a shop sells from: its configured list, or every active warehouse."""
    configured = _int_list(configured)
    if configured:
        return configured
    return [row.id for row in conn.execute(sql_statement("extract/warehouses.sql"))]
