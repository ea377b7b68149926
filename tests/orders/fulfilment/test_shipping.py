"""The shipping pass against the fake Nova Poshta and the real adapter: cash on delivery, payments, addresses the
directory cannot resolve, refusals, stock and the cost price of the sale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fake_nova_poshta import KYIV_BRANCH_33_REF, KYIV_POSTOMAT_REF
from orderdata import execute, free, rows, scalar
from shipdata import (
    SHIP_DATE,
    invoice,
    on_hand,
    opener,
    ordered,
    pay,
    requested,
    saves,
    ship,
    shipment,
)

from shopsync.orders.fulfilment import shipping, waybills
from shopsync.orders.workflow import InvalidTransition


def test_cod_is_the_total_less_the_prepayment_and_the_stock_moves_once(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-1")                       # 2 x 1500, cash on delivery
    pay(shop_db, invoice_id, "500")
    free_before, on_hand_before = free(shop_db, 101), on_hand(shop_db)
    requested(shop_db, shop, invoice_id)
    assert invoice(shop_db, invoice_id).status == "ready"

    summary = ship(shop_db, shop, np)

    [document] = np.documents()
    assert summary.shipped == [("NP-1", document["IntDocNumber"])] and summary.failed == []
    fields = document["fields"]
    assert fields["BackwardDeliveryData"] == [{"PayerType": "Recipient", "CargoType": "Money",
                                               "RedeliveryString": "2500"}]
    assert (fields["RecipientsPhone"], fields["RecipientName"]) == ("380675746830", "Олена Петренко")
    row = shipment(shop_db, invoice_id)
    assert (row.state, row.waybill_number, row.cod_amount, row.client_key) == (
        "created", document["IntDocNumber"], Decimal("2500.00"), f"demo-NP-1-{row.id}")
    assert fields["InfoRegClientBarcodes"] == row.client_key
    note = rows(shop_db, "SELECT id, waybill_number, cod_amount, carrier FROM delivery_notes")[0]
    assert (note.waybill_number, note.cod_amount, note.carrier) == (document["IntDocNumber"], Decimal("2500.00"),
                                                                     "Нова пошта")
    assert row.delivery_note_id == note.id and invoice(shop_db, invoice_id).status == "shipped"
    assert on_hand(shop_db) == on_hand_before - 2 and free(shop_db, 101) == free_before
    assert scalar(shop_db, "SELECT count(*) FROM reservations WHERE invoice_id = :i AND status <> 'shipped'",
                  i=invoice_id) == 0
    assert ship(shop_db, shop, np).shipped == [] and len(np.documents()) == 1


def test_a_paid_invoice_ships_without_cash_on_delivery(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-2", payment_status="paid")
    requested(shop_db, shop, invoice_id)
    assert len(ship(shop_db, shop, np).shipped) == 1
    fields = np.documents()[0]["fields"]
    assert "BackwardDeliveryData" not in fields and "AfterpaymentOnGoodsCost" not in fields
    assert scalar(shop_db, "SELECT cod_amount FROM delivery_notes") is None
    assert fields["Cost"] == "3000"                            # declared value: the invoice total


def test_an_unpaid_invoice_waits_for_its_prepayment(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-3", payment_status="unpaid")
    requested(shop_db, shop, invoice_id)
    waiting = ship(shop_db, shop, np)
    assert (waiting.waiting_for_payment, waiting.shipped, saves(np)) == (["NP-3"], [], 0)
    assert "waiting for a prepayment" in waiting.line()

    assert pay(shop_db, invoice_id, "1000").payment_status == "unpaid"
    again = pay(shop_db, invoice_id, "2000", reference="bank-2")
    assert (again.recorded, again.prepaid, again.payment_status) == (True, Decimal("3000.00"), "paid")
    assert pay(shop_db, invoice_id, "2000", reference="bank-2").recorded is False      # the same transfer once
    assert scalar(shop_db, "SELECT sum(amount) FROM payments WHERE invoice_id = :i", i=invoice_id) == 3000

    shipped = ship(shop_db, shop, np)
    assert [number for number, _ in shipped.shipped] == ["NP-3"]
    assert "BackwardDeliveryData" not in np.documents()[0]["fields"]


def test_an_address_the_directory_cannot_resolve_fails_without_blocking_the_next(shop_db, shop, np):
    lost = ordered(shop_db, "NP-4", city="Атлантида")
    good = ordered(shop_db, "NP-5", quantity="1")
    requested(shop_db, shop, lost)
    requested(shop_db, shop, good)

    summary = ship(shop_db, shop, np)

    [(number, reason)] = summary.failed
    assert number == "NP-4" and "Атлантида" in reason
    assert [number for number, _ in summary.shipped] == ["NP-5"] and saves(np) == 1
    flagged = invoice(shop_db, lost)
    assert (flagged.status, flagged.needs_attention) == ("ready", True)
    assert flagged.attention_reasons == [f"shipment: {reason}"]
    assert (shipment(shop_db, lost).state, shipment(shop_db, lost).waybill_number) == ("failed", None)
    assert ship(shop_db, shop, np).failed == []                # failed once: not tried again by every pass

    execute(shop_db, "UPDATE invoices SET delivery_city = 'Київ' WHERE id = :i", i=lost)   # a person fixes it
    requested(shop_db, shop, lost)
    assert invoice(shop_db, lost).needs_attention is False
    assert [number for number, _ in ship(shop_db, shop, np).shipped] == ["NP-4"]
    assert scalar(shop_db, "SELECT array_agg(state ORDER BY id) FROM shipments WHERE invoice_id = :i",
                  i=lost) == ["cancelled", "created"]


def test_a_refusal_of_the_carrier_fails_the_shipment_and_flags_the_invoice(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-6")
    requested(shop_db, shop, invoice_id, weight_kg=Decimal("45"))     # branch 33 takes up to 30 kg

    summary = ship(shop_db, shop, np)

    [(number, reason)] = summary.failed
    assert number == "NP-6" and "Weight exceeds" in reason and "Нова пошта refused" in reason
    assert np.documents() == [] and shipment(shop_db, invoice_id).state == "failed"
    assert invoice(shop_db, invoice_id).attention_reasons == [f"shipment: {reason}"]
    assert on_hand(shop_db) == 5                                # nothing left the warehouse

    requested(shop_db, shop, invoice_id, weight_kg=Decimal("2"))
    assert len(ship(shop_db, shop, np).shipped) == 1


def test_a_lost_answer_is_recognised_by_the_next_run_not_created_twice(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-7")
    requested(shop_db, shop, invoice_id)
    np.fail_next("timeout", path="/v2.0/json*", processed=True, delay=3)

    with pytest.raises(shipping.ShippingIncomplete) as cut:
        ship(shop_db, shop, np, timeout=1)
    assert cut.value.summary.pending[0][0] == "NP-7" and cut.value.retryable
    row = shipment(shop_db, invoice_id)
    assert (row.state, row.attempts, invoice(shop_db, invoice_id).status) == ("creating", 1, "ready")
    assert "timed out" in row.last_error

    summary = ship(shop_db, shop, np)

    [document] = np.documents()
    assert summary.recognised == [("NP-7", document["IntDocNumber"])] and summary.shipped == []
    assert saves(np) == 1
    assert (shipment(shop_db, invoice_id).state, invoice(shop_db, invoice_id).status) == ("created", "shipped")
    assert scalar(shop_db, "SELECT count(*) FROM delivery_notes") == 1


def test_a_creating_shipment_the_carrier_never_got_is_created_with_its_intent(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-8")
    requested(shop_db, shop, invoice_id)
    np.fail_next("500", path="/v2.0/json*")                    # not carried out
    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, np)
    execute(shop_db, "UPDATE invoices SET delivery_branch = 'Відділення №1' WHERE id = :i", i=invoice_id)

    summary = ship(shop_db, shop, np)

    assert [number for number, _ in summary.shipped] == ["NP-8"] and len(np.documents()) == 1
    assert np.documents()[0]["fields"]["RecipientAddress"] == KYIV_BRANCH_33_REF   # the intent's request, not a new one
    assert shipment(shop_db, invoice_id).attempts == 2


def test_a_creation_cut_off_yesterday_is_sent_with_today_s_date(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-14")
    requested(shop_db, shop, invoice_id)
    np.fail_next("500", path="/v2.0/json*")
    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, np)

    tomorrow = SHIP_DATE + timedelta(days=1)
    summary = shipping.ship_ready(shop_db, shop, open_carrier=opener(np.base_url), today=tomorrow)

    assert [number for number, _ in summary.shipped] == ["NP-14"]
    assert np.documents()[0]["fields"]["DateTime"] == tomorrow.strftime("%d.%m.%Y")
    row = shipment(shop_db, invoice_id)
    assert (row.ship_date, row.request["ship_date"]) == (tomorrow, tomorrow.isoformat())


def test_a_cut_off_creation_of_an_invoice_cancelled_meanwhile_is_not_made(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-15")
    requested(shop_db, shop, invoice_id)
    np.fail_next("500", path="/v2.0/json*")
    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, np)
    execute(shop_db, "UPDATE invoices SET status = 'cancelled' WHERE id = :i", i=invoice_id)   # outside shopsync

    summary = ship(shop_db, shop, np)

    assert summary.failed[0][0] == "NP-15" and "became cancelled" in summary.failed[0][1]
    assert np.documents() == [] and saves(np) == 1
    assert shipment(shop_db, invoice_id).state == "failed" and invoice(shop_db, invoice_id).needs_attention


def test_cost_price_on_the_delivery_note_is_that_of_the_moment_it_shipped(shop_db, shop, np):
    execute(shop_db, "UPDATE goods SET prime_cost = 800 WHERE id = 101")
    invoice_id = ordered(shop_db, "NP-9", quantity="4")          # 2 from warehouse 1, 2 from warehouse 2
    requested(shop_db, shop, invoice_id)
    ship(shop_db, shop, np)
    execute(shop_db, "UPDATE goods SET prime_cost = 950 WHERE id = 101")

    lines = rows(shop_db, "SELECT line_no, good_id, warehouse_id, quantity, price, cost_price"
                          " FROM delivery_note_lines ORDER BY warehouse_id")
    assert [tuple(line) for line in lines] == [(1, 101, 1, 2, Decimal("1500.00"), Decimal("800.00")),
                                               (1, 101, 2, 2, Decimal("1500.00"), Decimal("800.00"))]


def test_an_invoice_made_ready_by_the_accounting_program_ships_with_the_defaults(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-10")
    execute(shop_db, "UPDATE invoices SET status = 'ready' WHERE id = :i", i=invoice_id)
    summary = ship(shop_db, shop, np)
    assert [number for number, _ in summary.shipped] == ["NP-10"]
    row = shipment(shop_db, invoice_id)
    assert (row.carrier, row.weight_kg, row.seats) == ("nova_poshta", Decimal("1.000"), 1)


def test_a_ready_invoice_not_fully_reserved_is_not_shipped(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-11", quantity="9")          # only 5 on hand: stays new
    execute(shop_db, "UPDATE invoices SET status = 'ready' WHERE id = :i", i=invoice_id)
    summary = ship(shop_db, shop, np)
    assert "not every line is reserved" in summary.failed[0][1] and saves(np) == 0


def test_two_passes_of_one_shop_never_run_at_once(shop_db, shop, np):
    with waybills.shipping_lock(shop_db, shop.id), pytest.raises(waybills.ShippingBusy, match="another run"):
        ship(shop_db, shop, np)


def test_ship_refuses_an_invoice_that_is_not_reserved(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-12", quantity="9")
    with pytest.raises(InvalidTransition, match="is new; only reserved or ready invoices can be shipped"):
        requested(shop_db, shop, invoice_id)
    assert shipment(shop_db, invoice_id) is None


def test_summary_as_json_and_line(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-13")
    requested(shop_db, shop, invoice_id)
    summary = ship(shop_db, shop, np)
    data = summary.as_json()
    assert data["shop_id"] == "demo" and data["shipped"] == [("NP-13", np.documents()[0]["IntDocNumber"])]
    assert summary.line().startswith("shop demo: 1 shipped, 0 found at the carrier")


def test_classic_cod_refused_to_the_sender_ships_with_payment_control(shop_db, shop, np):
    np.refuse_classic_cod()
    invoice_id = ordered(shop_db, "NP-16")
    requested(shop_db, shop, invoice_id)
    assert len(ship(shop_db, shop, np).shipped) == 1
    assert np.documents()[0]["fields"]["AfterpaymentOnGoodsCost"] == "3000"
    row = shipment(shop_db, invoice_id)
    assert (row.cod_form, row.cod_amount) == ("payment_control", Decimal("3000.00"))


def test_the_marketplace_s_branch_id_wins_over_the_branch_text(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-17", branch="самовивіз з офісу")
    execute(shop_db, "UPDATE invoices SET delivery_branch_ref = :r WHERE id = :i", r=KYIV_POSTOMAT_REF, i=invoice_id)
    requested(shop_db, shop, invoice_id)
    assert len(ship(shop_db, shop, np).shipped) == 1
    assert np.documents()[0]["fields"]["RecipientAddress"] == KYIV_POSTOMAT_REF


def test_a_buyer_without_a_ukrainian_phone_is_flagged_not_sent(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-18")
    execute(shop_db, "UPDATE invoices SET content = jsonb_set(content, '{customer,phones}', '[\"+48601234567\"]')"
                     " WHERE id = :i", i=invoice_id)
    requested(shop_db, shop, invoice_id)
    summary = ship(shop_db, shop, np)
    assert "is not a Ukrainian number" in summary.failed[0][1] and saves(np) == 0


def test_a_shipment_another_session_holds_is_left_to_it(shop_db, shop, np):
    invoice_id = ordered(shop_db, "NP-19")
    shipment_id = requested(shop_db, shop, invoice_id)
    with shop_db.connect() as other:
        other.execute(sa.text("SELECT id FROM shipments WHERE id = :s FOR UPDATE"), {"s": shipment_id})
        assert ship(shop_db, shop, np).shipped == [] and saves(np) == 0
        other.rollback()
    assert [number for number, _ in ship(shop_db, shop, np).shipped] == ["NP-19"]
