"""`shopsync return`: a person confirms a refused parcel's goods are back; stock on hand grows exactly once."""

from __future__ import annotations

import pytest
from orderdata import SHOP, execute, line, rows, scalar
from test_cli import run_cli
from trackdata import cli_env, invoice, on_hand, shipped, tracking_shop

from shopsync.core.errors import PermanentError
from shopsync.orders.fulfilment.tracking import invoice_of_number, record_return, returned_places
from shopsync.orders.workflow import InvalidTransition


@pytest.fixture
def shop(tmp_path):
    return tracking_shop(tmp_path)


def refuse(engine, invoice_id: int) -> None:
    execute(engine, "UPDATE invoices SET status = 'refused' WHERE id = :i", i=invoice_id)
    execute(engine, "UPDATE delivery_notes SET status = 'refused' WHERE invoice_id = :i", i=invoice_id)


def test_a_refused_parcel_back_puts_the_shipped_goods_on_hand_once(shop_db, shop):
    invoice_id, shipment_id = shipped(shop_db, "R-1", "20450000000001", [line(101, "4"), line(102, "1")])
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (0, 1, 9)
    refuse(shop_db, invoice_id)

    assert record_return(shop_db, shop, invoice_id) == {101: 4, 102: 1}

    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (2, 3, 10)
    assert invoice(shop_db, invoice_id)[0] == "returned"
    note = rows(shop_db, "SELECT status, returned_at IS NOT NULL FROM delivery_notes WHERE invoice_id = :i",
                i=invoice_id)[0]
    assert tuple(note) == ("returned", True)
    assert scalar(shop_db, "SELECT delivery_state FROM shipments WHERE id = :s", s=shipment_id) == "returned"
    with pytest.raises(InvalidTransition, match=rf"invoice {invoice_id} is returned; only shipped or refused"):
        record_return(shop_db, shop, invoice_id)
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (2, 3, 10)


def test_a_shipped_invoice_can_come_back_without_a_refusal_seen(shop_db, shop):
    invoice_id, _ = shipped(shop_db, "R-2", "20450000000002", [line(102, "2")])
    assert record_return(shop_db, shop, invoice_id) == {102: 2}
    assert on_hand(shop_db, 102, 1) == 10
    assert invoice(shop_db, invoice_id)[0] == "returned"


def test_the_delivery_note_lines_say_what_comes_back_when_there_are_some(shop_db, shop):
    invoice_id, _ = shipped(shop_db, "R-3", "20450000000003", [line(101, "4")])
    note_id = scalar(shop_db, "SELECT id FROM delivery_notes WHERE invoice_id = :i", i=invoice_id)
    execute(shop_db, "DELETE FROM delivery_note_lines WHERE delivery_note_id = :n", n=note_id)   # an older note
    with shop_db.connect() as conn:
        assert returned_places(conn, invoice_id) == [(101, 1, 2), (101, 2, 2)]    # the shipped reservations
    execute(shop_db, "INSERT INTO delivery_note_lines (delivery_note_id, line_no, good_id, warehouse_id, quantity,"
                     " cost_price) VALUES (:n, 1, 101, 2, 3, 800), (:n, 2, 101, 2, 1, 800)", n=note_id)
    refuse(shop_db, invoice_id)
    assert record_return(shop_db, shop, invoice_id) == {101: 4}
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2)) == (0, 5)


def test_only_a_shipped_or_refused_invoice_of_the_shop_comes_back(shop_db, shop, tmp_path):
    invoice_id, _ = shipped(shop_db, "R-4", "20450000000004", [line(101, "1")])
    execute(shop_db, "UPDATE invoices SET status = 'delivered' WHERE id = :i", i=invoice_id)
    with pytest.raises(InvalidTransition, match="is delivered; only shipped or refused invoices can be returned"):
        record_return(shop_db, shop, invoice_id)
    other = tracking_shop(tmp_path).model_copy(update={"id": "other"})
    with pytest.raises(PermanentError, match=f"shop other has no invoice {invoice_id}"):
        record_return(shop_db, other, invoice_id)
    assert on_hand(shop_db, 101, 1) == 1


def test_an_invoice_is_found_by_the_number_the_shop_knows(shop_db):
    invoice_id, _ = shipped(shop_db, "R-5", "20450000000005")
    assert invoice_of_number(shop_db, SHOP, "R-5") == invoice_id
    with pytest.raises(PermanentError, match=f"shop {SHOP} has no invoice R-404"):
        invoice_of_number(shop_db, SHOP, "R-404")


def test_shopsync_return_by_the_shops_number(shop_db, db_url, tmp_path, shop):
    invoice_id, _ = shipped(shop_db, "R-6", "20450000000006", [line(102, "3")])
    env = cli_env(tmp_path, shop, db_url)

    result = run_cli("return", "--shop", SHOP, "--invoice", "R-6", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "invoice R-6 returned; back on hand: good 102: 3"
    assert on_hand(shop_db, 102, 1) == 10 and invoice(shop_db, invoice_id)[0] == "returned"
    again = run_cli("return", "--shop", SHOP, "--id", str(invoice_id), env=env)
    assert again.returncode == 2 and "is returned; only shipped or refused invoices" in again.stderr
    assert on_hand(shop_db, 102, 1) == 10
