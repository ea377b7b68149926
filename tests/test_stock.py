"""Free stock, defined once by the free_stock view, and the reservation moves of shopsync.stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from shopsync import stock


def _exec(engine, sql: str, **params):
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params)


@pytest.fixture
def invoice_id(engine) -> int:
    """Good 10 at warehouses 1 (2 units), 2 (3), 3 (4); good 11 at warehouse 1 (0); one invoice with two lines."""
    _exec(engine, "INSERT INTO warehouses (id, code, name) VALUES (1, 'A', 'A'), (2, 'B', 'B'), (3, 'C', 'C')")
    _exec(engine, "INSERT INTO goods (id, name) VALUES (10, 'Балетки'), (11, 'Кеди')")
    _exec(engine, "INSERT INTO stock (good_id, warehouse_id, on_hand) VALUES (10, 1, 2), (10, 2, 3), (10, 3, 4),"
                  " (11, 1, 0)")
    invoice = _exec(engine, "INSERT INTO invoices (shop_id, external_number) VALUES ('demo', 'S-1') RETURNING id")
    invoice = invoice.scalar_one()
    _exec(engine, "INSERT INTO invoice_lines (invoice_id, line_no, good_id, quantity) VALUES (:i, 1, 10, 4),"
                  " (:i, 2, 11, 1)", i=invoice)
    return invoice


def _free(engine, good_ids, warehouse_ids):
    with engine.connect() as conn:
        return stock.free_stock(conn, good_ids, warehouse_ids)


def _reserve(engine, invoice_id, line_no, good_id, quantity, warehouse_ids) -> Decimal:
    with engine.begin() as conn:
        return stock.reserve_lines(conn, invoice_id, [(line_no, good_id, Decimal(quantity))], warehouse_ids)[line_no]


def _reservations(engine):
    rows = _exec(engine, "SELECT warehouse_id, quantity, status FROM reservations ORDER BY id").all()
    return [tuple(row) for row in rows]


def test_free_stock_sums_the_given_warehouses_and_knows_every_asked_good(engine, invoice_id):
    assert _free(engine, [10, 11, 12], [1, 2]) == {10: 5, 11: 0, 12: 0}
    assert _free(engine, None, [3]) == {10: 4}


def test_a_line_takes_warehouses_in_ascending_order(engine, invoice_id):
    assert _reserve(engine, invoice_id, 1, 10, "4", [2, 1]) == 4
    assert _reservations(engine) == [(1, 2, "active"), (2, 2, "active")]
    assert _free(engine, [10], [1, 2]) == {10: 1}
    reserved_qty = _exec(engine, "SELECT reserved_qty FROM invoice_lines WHERE line_no = 1").scalar_one()
    assert reserved_qty == 4


def test_a_line_reserves_only_what_is_free(engine, invoice_id):
    assert _reserve(engine, invoice_id, 1, 10, "9", [1, 2]) == 5
    assert _reserve(engine, invoice_id, 1, 10, "1", [1, 2]) == 0
    assert _reserve(engine, invoice_id, 2, 11, "1", [1, 2]) == 0
    assert _free(engine, [10], [1, 2]) == {10: 0}


def test_release_invoice_returns_free_stock(engine, invoice_id):
    _reserve(engine, invoice_id, 1, 10, "4", [1, 2])
    with engine.begin() as conn:
        assert stock.release_invoice(conn, invoice_id) == {10: 4}
    assert _free(engine, [10], [1, 2]) == {10: 5}
    assert {status for _, _, status in _reservations(engine)} == {"released"}


def test_ship_invoice_takes_goods_off_hand_and_free_stock_stays(engine, invoice_id):
    _reserve(engine, invoice_id, 1, 10, "4", [1, 2])
    with engine.begin() as conn:
        assert stock.ship_invoice(conn, invoice_id) == {10: 4}
    on_hand = _exec(engine, "SELECT warehouse_id, on_hand FROM stock WHERE good_id = 10 ORDER BY 1").all()
    assert [tuple(row) for row in on_hand] == [(1, 0), (2, 1), (3, 4)]
    assert _free(engine, [10], [1, 2]) == {10: 1}
    assert {status for _, _, status in _reservations(engine)} == {"shipped"}


def test_lines_of_one_good_share_its_free_stock_in_line_order(engine, invoice_id):
    _exec(engine, "INSERT INTO invoice_lines (invoice_id, line_no, good_id, quantity) VALUES (:i, 3, 10, 3)",
          i=invoice_id)
    with engine.begin() as conn:
        got = stock.reserve_lines(conn, invoice_id, [(1, 10, Decimal(3)), (3, 10, Decimal(3)), (2, 11, Decimal(1))],
                                  [2, 1])
    assert got == {1: 3, 3: 2, 2: 0}
    rows = _exec(engine, "SELECT line_no, warehouse_id, quantity FROM reservations ORDER BY id").all()
    assert [tuple(row) for row in rows] == [(1, 1, 2), (1, 2, 1), (3, 2, 2)]
    reserved = _exec(engine, "SELECT line_no, reserved_qty FROM invoice_lines ORDER BY line_no").all()
    assert [tuple(row) for row in reserved] == [(1, 3), (2, 0), (3, 2)]


def test_return_goods_puts_each_place_back_on_hand_once_summed(engine, invoice_id):
    _exec(engine, "DELETE FROM stock WHERE good_id = 11")
    with engine.begin() as conn:
        back = stock.return_goods(conn, [(10, 2, Decimal(1)), (11, 1, Decimal(2)), (10, 2, Decimal(3)),
                                         (10, 1, Decimal(0))])
    assert back == {10: 4, 11: 2}
    found = _exec(engine, "SELECT good_id, warehouse_id, on_hand FROM stock ORDER BY 1, 2").all()
    assert [tuple(row) for row in found] == [(10, 1, 2), (10, 2, 7), (10, 3, 4), (11, 1, 2)]
