"""Free stock, defined once (the free_stock view), and the reservation moves that change it.

Locking rule: whoever reserves or ships first locks the `stock` rows involved with one
`SELECT ... ORDER BY good_id, warehouse_id FOR UPDATE`, and only then reads free stock.
Every transaction taking its row locks in that one order is what keeps concurrent orders
from overselling and from deadlocking each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import sqlalchemy as sa

from shopsync.paths import sql_statement


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


def reserve_line(
    conn: sa.Connection,
    invoice_id: int,
    line_no: int,
    good_id: int,
    quantity: Decimal,
    warehouse_ids: Iterable[int],
) -> Decimal:
    """Reserve up to `quantity` of a good for an invoice line, warehouse id ascending; returns what was reserved.

    Call `lock_stock` for all the invoice's goods first when an invoice has several (reserve_lines does).
    """
    warehouses = _int_list(warehouse_ids)
    lock_stock(conn, [good_id], warehouses)
    free_rows = conn.execute(_statement("free_stock_by_warehouse"), {"good_id": good_id, "warehouse_ids": warehouses})
    remaining = Decimal(quantity)
    reserved = Decimal(0)
    for row in free_rows.all():
        if remaining <= 0:
            break
        take = min(remaining, row.free)
        if take <= 0:
            continue
        conn.execute(_statement("insert_reservation"), {
            "invoice_id": invoice_id, "line_no": line_no, "good_id": good_id,
            "warehouse_id": row.warehouse_id, "quantity": take,
        })
        remaining -= take
        reserved += take
    if reserved:
        conn.execute(_statement("add_line_reserved"), {
            "invoice_id": invoice_id, "line_no": line_no, "quantity": reserved,
        })
    return reserved


def reserve_lines(
    conn: sa.Connection, invoice_id: int, lines: Sequence[tuple[int, int, Decimal]], warehouse_ids: Iterable[int],
) -> dict[int, Decimal]:
    """Reserve every (line_no, good_id, quantity) of an invoice, each up to what is free, warehouse id
    ascending, lines in the given order; returns what each line got.

    The same rule as reserve_line, in four statements for the whole invoice instead of several per line:
    lock the stock rows (fixed order), read their free stock, insert the reservations, update the lines.
    """
    warehouses = _int_list(warehouse_ids)
    goods = _int_list(good for _, good, _ in lines)
    lock_stock(conn, goods, warehouses)
    free: dict[int, list[list]] = {}
    for row in conn.execute(_statement("free_stock_of_goods"), {"good_ids": goods, "warehouse_ids": warehouses}):
        free.setdefault(row.good_id, []).append([row.warehouse_id, Decimal(row.free)])
    reservations, got = [], {}
    for line_no, good_id, quantity in lines:
        remaining = Decimal(quantity)
        got[line_no] = Decimal(0)
        for place in free.get(good_id, []):
            take = min(remaining, place[1])
            if take <= 0:
                continue
            reservations.append({"invoice_id": invoice_id, "line_no": line_no, "good_id": good_id,
                                 "warehouse_id": place[0], "quantity": take})
            place[1] -= take
            remaining -= take
            got[line_no] += take
            if remaining <= 0:
                break
    if reservations:
        conn.execute(_statement("insert_reservation"), reservations)
        conn.execute(_statement("add_line_reserved"), [
            {"invoice_id": invoice_id, "line_no": line_no, "quantity": quantity}
            for line_no, quantity in got.items() if quantity
        ])
    return got


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
