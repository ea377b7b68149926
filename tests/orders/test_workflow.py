"""The accounting workflow: reserve, ship, deliver, cancel; and the invoice list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from orderdata import SHOP, TODAY, WAREHOUSES, active_reserved, customer, execute, free, line, order, rows, scalar

from shopsync.core.errors import ShopsyncError
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order
from shopsync.orders.workflow import InvalidTransition


def applied(engine, number="W-1", lines=None, **fields):
    result = apply_order(engine, SHOP, order(number, lines or [line(101, "4")], **fields), WAREHOUSES, None, TODAY)
    return result.invoice_id


def status(engine, invoice_id):
    return scalar(engine, "SELECT status FROM invoices WHERE id = :i", i=invoice_id)


def on_hand(engine, good_id, warehouse_id):
    return scalar(engine, "SELECT on_hand FROM stock WHERE good_id = :g AND warehouse_id = :w",
                  g=good_id, w=warehouse_id)


def step(engine, action, *args, **kwargs):
    with engine.begin() as conn:
        return action(conn, *args, **kwargs)


def test_cancel_releases_reservations_and_free_stock_returns(shop_db):
    invoice_id = applied(shop_db)
    assert free(shop_db, 101) == 1
    released = step(shop_db, workflow.cancel, invoice_id, "customer changed their mind")
    assert released == {101: 4}
    assert free(shop_db, 101) == 5
    assert active_reserved(shop_db, invoice_id) == []
    assert scalar(shop_db, "SELECT count(*) FROM reservations WHERE status = 'released'") == 2
    row = rows(shop_db, "SELECT status, cancel_reason FROM invoices WHERE id = :i", i=invoice_id)[0]
    assert tuple(row) == ("cancelled", "customer changed their mind")
    assert scalar(shop_db, "SELECT sum(reserved_qty) FROM invoice_lines WHERE invoice_id = :i", i=invoice_id) == 0


def test_cancel_gives_back_certificates_and_bonus(shop_db):
    invoice_id = applied(shop_db, gift_certificates=["GC-VALID"], bonus_pay=Decimal(40))
    step(shop_db, workflow.cancel, invoice_id, "duplicate")
    certificate = rows(shop_db, "SELECT status, used_invoice_id FROM gift_certificates WHERE barcode = 'GC-VALID'")[0]
    assert tuple(certificate) == ("active", None)
    assert scalar(shop_db, "SELECT bonus_balance FROM customers WHERE email = 'olena@example.com'") == 100


def test_cancel_of_a_shipped_invoice_is_refused_clearly(shop_db):
    invoice_id = applied(shop_db)
    step(shop_db, workflow.ship, invoice_id, "Nova Poshta", "20450000000001")
    with pytest.raises(InvalidTransition, match=rf"^invoice {invoice_id} is shipped; only new, reserved or "
                                                r"ready invoices can be cancelled$"):
        step(shop_db, workflow.cancel, invoice_id, "too late")


def test_ship_decreases_on_hand_and_keeps_free_stock_consistent(shop_db):
    invoice_id = applied(shop_db)
    free_before = free(shop_db, 101)
    note_id = step(shop_db, workflow.ship, invoice_id, "Nova Poshta", "20450000000001", Decimal("6000"))
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2)) == (0, 1)
    assert free(shop_db, 101) == free_before == 1
    assert scalar(shop_db, "SELECT count(*) FROM reservations WHERE invoice_id = :i AND status = 'shipped'",
                  i=invoice_id) == 2
    assert scalar(shop_db, "SELECT coalesce(min(free), 0) FROM free_stock") >= 0
    note = rows(shop_db, "SELECT invoice_id, carrier, waybill_number, cod_amount, status FROM delivery_notes"
                         " WHERE id = :n", n=note_id)[0]
    assert tuple(note) == (invoice_id, "Nova Poshta", "20450000000001", Decimal("6000.00"), "shipped")
    assert status(shop_db, invoice_id) == "shipped"


def test_ship_of_an_invoice_that_is_not_fully_reserved_is_refused(shop_db):
    invoice_id = applied(shop_db, lines=[line(101, "9")])
    with pytest.raises(InvalidTransition, match="is new; only reserved or ready invoices can be shipped"):
        step(shop_db, workflow.ship, invoice_id, "Ukrposhta", None)
    assert on_hand(shop_db, 101, 1) == 2


def test_ship_needs_a_carrier(shop_db):
    with pytest.raises(ShopsyncError, match="carrier"):
        step(shop_db, workflow.ship, applied(shop_db), " ", None)


def test_reserve_tops_up_a_short_invoice_when_goods_arrive(shop_db):
    invoice_id = applied(shop_db, lines=[line(101, "7")])
    assert status(shop_db, invoice_id) == "new"
    execute(shop_db, "UPDATE stock SET on_hand = on_hand + 5 WHERE good_id = 101 AND warehouse_id = 2")
    assert step(shop_db, workflow.reserve, invoice_id, WAREHOUSES) == {101: 2}
    assert status(shop_db, invoice_id) == "reserved"
    assert active_reserved(shop_db, invoice_id) == [(101, 1, 2), (101, 2, 5)]


def test_reserve_cannot_complete_an_invoice_with_an_unknown_good(shop_db):
    invoice_id = applied(shop_db, lines=[line(101, "1"), line(None, good_ref="NOPE")])
    assert step(shop_db, workflow.reserve, invoice_id, WAREHOUSES) == {101: 1}
    assert status(shop_db, invoice_id) == "new"


def test_deliver_with_cash_on_delivery_received_makes_it_paid(shop_db):
    invoice_id = applied(shop_db, payment_status="cod")
    step(shop_db, workflow.ship, invoice_id, "Nova Poshta", "204500", Decimal("6000"))
    step(shop_db, workflow.deliver, invoice_id, cod_received=True)
    row = rows(shop_db, "SELECT status, payment_status, needs_attention FROM invoices WHERE id = :i", i=invoice_id)[0]
    assert tuple(row) == ("delivered", "paid", False)
    note = rows(shop_db, "SELECT status, cod_received, delivered_at IS NOT NULL AS dated FROM delivery_notes")[0]
    assert tuple(note) == ("delivered", True, True)


def test_deliver_without_the_cash_on_delivery_needs_attention(shop_db):
    invoice_id = applied(shop_db, payment_status="cod")
    step(shop_db, workflow.ship, invoice_id, "Nova Poshta", "204500")
    step(shop_db, workflow.deliver, invoice_id, cod_received=False)
    row = rows(shop_db, "SELECT payment_status, needs_attention, attention_reasons FROM invoices WHERE id = :i",
               i=invoice_id)[0]
    assert tuple(row) == ("cod", True, ["cash on delivery not received"])


def test_deliver_of_an_invoice_not_shipped_is_refused(shop_db):
    invoice_id = applied(shop_db)
    with pytest.raises(InvalidTransition, match=rf"invoice {invoice_id} is reserved; only shipped invoices"):
        step(shop_db, workflow.deliver, invoice_id, cod_received=True)


def test_unknown_invoice_is_a_clear_error(shop_db):
    with pytest.raises(ShopsyncError, match="invoice 999999 does not exist"):
        step(shop_db, workflow.cancel, 999999, "?")


def test_list_invoices_of_a_shop_optionally_by_status(shop_db):
    first = applied(shop_db, "W-1")
    second = applied(shop_db, "W-2", lines=[line(101, "9")], buyer=customer(full_name="Олена Петренко"))
    apply_order(shop_db, "other", order("W-3", [line(102)]), WAREHOUSES, None, TODAY)
    with shop_db.connect() as conn:
        everything = workflow.list_invoices(conn, SHOP)
        reserved = workflow.list_invoices(conn, SHOP, status="reserved")
    assert [(row.id, row.external_number, row.status) for row in everything] == [
        (first, "W-1", "reserved"), (second, "W-2", "new"),
    ]
    assert everything[1].needs_attention and everything[1].customer_name == "Олена Петренко"
    assert [row.id for row in reserved] == [first]
