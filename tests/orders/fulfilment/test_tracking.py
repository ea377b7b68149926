"""The tracking pass against the fake Nova Poshta (through the real adapter): statuses stored once, the newest
state applied to the invoice exactly once, and nothing lost when the carrier fails for one batch."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from fake_nova_poshta import API_KEY
from orderdata import SHOP, count, execute, line, rows, scalar
from test_cli import run_cli
from trackdata import (
    cli_env,
    invoice,
    on_hand,
    opener,
    shipped_at,
    tracking_calls,
    tracking_shop,
    waybill_at,
)

from shopsync.orders.fulfilment.tracking import TrackingIncomplete, record_return, track_open


@pytest.fixture
def shop(tmp_path):
    return tracking_shop(tmp_path, stuck_days=5)


def track(engine, shop, server, now=None):
    return track_open(engine, shop, open_carrier=opener(server), now=now or server.now())


def history(engine, shipment_id: int) -> list[tuple]:
    return [tuple(row) for row in rows(engine, "SELECT waybill, code, state FROM shipment_status_history"
                                               " WHERE shipment_id = :s ORDER BY status_at, seen_at", s=shipment_id)]


def shipment(engine, shipment_id: int, *columns: str) -> tuple:
    return tuple(rows(engine, f"SELECT {', '.join(columns)} FROM shipments WHERE id = :s", s=shipment_id)[0])


def updated_at(engine, invoice_id: int):
    return scalar(engine, "SELECT updated_at FROM invoices WHERE id = :i", i=invoice_id)


def test_250_open_waybills_take_three_tracking_calls_and_each_status_is_stored_once(shop_db, shop, nova_poshta_api):
    numbers = [waybill_at(nova_poshta_api, f"bulk-{n}") for n in range(250)]
    execute(shop_db, "INSERT INTO invoices (shop_id, external_number, status, customer_id)"
                     " SELECT :shop, 'B-' || n, 'shipped', (SELECT id FROM customers) FROM generate_series(1, 250) n",
            shop=SHOP)
    execute(shop_db, "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, waybill_number,"
                     " delivery_state) SELECT :shop, i.id, 'nova_poshta', 'created', 'bulk-' || i.id, w.number,"
                     " 'created' FROM invoices i JOIN unnest(CAST(:numbers AS text[])) WITH ORDINALITY AS w (number, n)"
                     " ON i.external_number = 'B-' || w.n", shop=SHOP, numbers=numbers)
    nova_poshta_api.set_status(numbers[7], "5")

    first = track(shop_db, shop, nova_poshta_api)

    assert [len(call) for call in tracking_calls(nova_poshta_api)] == [100, 100, 50]
    assert sorted(number for call in tracking_calls(nova_poshta_api) for number in call) == sorted(numbers)
    assert (first.tracked, first.changed, first.errors) == (250, 250, [])     # each its first carrier status
    assert count(shop_db, "shipment_status_history") == 250
    assert scalar(shop_db, "SELECT delivery_state FROM shipments WHERE waybill_number = :w", w=numbers[7]) \
        == "in_transit"

    second = track(shop_db, shop, nova_poshta_api)
    assert len(tracking_calls(nova_poshta_api)) == 6 and (second.tracked, second.changed) == (250, 0)
    assert count(shop_db, "shipment_status_history") == 250


def test_a_status_repeated_with_a_newer_time_is_stored_once(shop_db, shop, nova_poshta_api):
    _, shipment_id, waybill = shipped_at(shop_db, nova_poshta_api, "T-1", [line(102, "1")])
    nova_poshta_api.set_status(waybill, "5")
    track(shop_db, shop, nova_poshta_api)
    later = (nova_poshta_api.now() + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    nova_poshta_api.set_status(waybill, "5", TrackingUpdateDate=later)
    assert track(shop_db, shop, nova_poshta_api).changed == 0
    nova_poshta_api.set_status(waybill, "6")
    track(shop_db, shop, nova_poshta_api)
    assert history(shop_db, shipment_id) == [(waybill, "5", "in_transit"), (waybill, "6", "in_transit")]


def test_tracking_asks_with_the_phone_the_waybill_was_made_for(shop_db, shop, nova_poshta_api):
    _, shipment_id, waybill = shipped_at(shop_db, nova_poshta_api, "P-1", [line(102, "1")])
    track(shop_db, shop, nova_poshta_api)
    execute(shop_db, "UPDATE shipments SET request = CAST(:r AS jsonb) WHERE id = :s", s=shipment_id,
            r=json.dumps({"client_key": "demo-P-1", "recipient": {"name": "Петренко Олена", "phone": "380991112233"}}))
    track(shop_db, shop, nova_poshta_api)
    phones = [r.json["methodProperties"]["Documents"][0]["Phone"] for r in nova_poshta_api.logged("POST")
              if r.json.get("calledMethod") == "getStatusDocuments"]
    assert phones == ["380675746830", "380991112233"]       # the buyer's, then the one the request names


def test_an_unknown_code_is_stored_and_flagged_once_and_the_run_goes_on(shop_db, shop, nova_poshta_api):
    odd_invoice, odd, odd_waybill = shipped_at(shop_db, nova_poshta_api, "U-1", [line(102, "1")])
    fine_invoice, _, fine_waybill = shipped_at(shop_db, nova_poshta_api, "U-2", [line(102, "1")])
    nova_poshta_api.set_status(odd_waybill, "80")
    nova_poshta_api.set_status(fine_waybill, "9")

    first = track(shop_db, shop, nova_poshta_api)
    second = track(shop_db, shop, nova_poshta_api)

    assert first.unknown_codes == [(odd_waybill, "80")] and second.unknown_codes == []
    assert history(shop_db, odd)[-1] == (odd_waybill, "80", None)
    assert [code for _, code, _ in history(shop_db, odd)].count("80") == 1
    assert invoice(shop_db, odd_invoice) == ("shipped", "paid", True,
                                             ["unknown nova_poshta status 80 (Статус невідомий)"])
    assert shipment(shop_db, odd, "delivery_state", "carrier_status") == ("created", "80")
    assert invoice(shop_db, fine_invoice)[0] == "delivered"


def test_delivered_makes_the_invoice_delivered_and_ends_its_tracking(shop_db, shop, nova_poshta_api):
    invoice_id, shipment_id, waybill = shipped_at(shop_db, nova_poshta_api, "D-1")
    nova_poshta_api.set_status(waybill, "7")
    track(shop_db, shop, nova_poshta_api)
    assert invoice(shop_db, invoice_id)[0] == "shipped"
    before = updated_at(shop_db, invoice_id)

    nova_poshta_api.advance(3600)
    nova_poshta_api.set_status(waybill, "9")
    summary = track(shop_db, shop, nova_poshta_api)

    assert (summary.delivered, summary.changed) == (1, 1)
    assert invoice(shop_db, invoice_id) == ("delivered", "paid", False, [])
    assert updated_at(shop_db, invoice_id) > before
    assert rows(shop_db, "SELECT status FROM delivery_notes WHERE invoice_id = :i", i=invoice_id)[0][0] == "delivered"
    assert history(shop_db, shipment_id) == [(waybill, "7", "at_branch"), (waybill, "9", "delivered")]
    assert shipment(shop_db, shipment_id, "delivery_state", "carrier_status") == ("delivered", "9")
    calls = len(tracking_calls(nova_poshta_api))
    assert track(shop_db, shop, nova_poshta_api).tracked == 0
    assert len(tracking_calls(nova_poshta_api)) == calls


def test_cash_on_delivery_paid_out_is_one_payment_of_its_amount(shop_db, shop, nova_poshta_api):
    invoice_id, shipment_id, waybill = shipped_at(shop_db, nova_poshta_api, "C-1", cod=Decimal("6000"))
    nova_poshta_api.set_status(waybill, "9")
    delivered = track(shop_db, shop, nova_poshta_api)
    assert invoice(shop_db, invoice_id) == ("delivered", "cod", False, [])      # COD follows later: not flagged
    assert delivered.cod_outstanding == Decimal("6000") and delivered.cod_paid == []

    nova_poshta_api.set_status(waybill, "11")
    paid = track(shop_db, shop, nova_poshta_api)
    again = track(shop_db, shop, nova_poshta_api)

    assert paid.cod_paid == [("C-1", Decimal("6000"))] and again.cod_paid == [] and again.tracked == 0
    payments = rows(shop_db, "SELECT invoice_id, kind, amount, reference FROM payments")
    assert [tuple(row) for row in payments] == [(invoice_id, "cod", Decimal("6000.00"), waybill)]
    assert invoice(shop_db, invoice_id)[:2] == ("delivered", "paid")
    assert shipment(shop_db, shipment_id, "delivery_state", "cod_paid_amount") == ("cod_paid", Decimal("6000.00"))
    assert rows(shop_db, "SELECT cod_received FROM delivery_notes WHERE invoice_id = :i", i=invoice_id)[0][0] is True
    assert paid.cod_outstanding == 0


def test_cash_on_delivery_straight_from_transit_delivers_and_pays_once(shop_db, shop, nova_poshta_api):
    invoice_id, _, waybill = shipped_at(shop_db, nova_poshta_api, "C-2", [line(102, "1")], cod=Decimal("2200"))
    nova_poshta_api.set_status(waybill, "11")
    summary = track(shop_db, shop, nova_poshta_api)
    assert (summary.delivered, summary.cod_paid) == (1, [("C-2", Decimal("2200"))])
    assert invoice(shop_db, invoice_id) == ("delivered", "paid", False, [])
    assert count(shop_db, "payments") == 1


def test_cash_on_delivery_still_missing_days_after_delivery_is_flagged_once(shop_db, shop, nova_poshta_api):
    invoice_id, _, waybill = shipped_at(shop_db, nova_poshta_api, "C-3", cod=Decimal("6000"))
    nova_poshta_api.set_status(waybill, "9")
    start = nova_poshta_api.now()
    track(shop_db, shop, nova_poshta_api, now=start)
    assert track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=4)).cod_late == []

    late = track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=6))
    later = track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=7))

    assert late.cod_late == [("C-3", waybill, 6)] and later.cod_late == []
    assert invoice(shop_db, invoice_id) == ("delivered", "cod", True, ["cash on delivery not received"])
    nova_poshta_api.set_status(waybill, "11")
    track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=8))
    assert invoice(shop_db, invoice_id) == ("delivered", "paid", False, [])


def test_refused_then_returned_puts_the_goods_back_on_hand_exactly_once(shop_db, shop, nova_poshta_api):
    invoice_id, shipment_id, waybill = shipped_at(shop_db, nova_poshta_api, "R-1", [line(101, "4"), line(102, "2")],
                                                  cod=Decimal("10400"))
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (0, 1, 8)
    before = updated_at(shop_db, invoice_id)
    back = nova_poshta_api.set_status(waybill, "103", create_return=True)["return"]["IntDocNumber"]

    refused = track(shop_db, shop, nova_poshta_api)
    assert refused.refused == 1
    assert invoice(shop_db, invoice_id)[0] == "refused" and updated_at(shop_db, invoice_id) > before
    assert rows(shop_db, "SELECT status FROM delivery_notes WHERE invoice_id = :i", i=invoice_id)[0][0] == "refused"
    assert shipment(shop_db, shipment_id, "delivery_state", "return_waybill") == ("refused", back)

    nova_poshta_api.set_status(back, "5")
    track(shop_db, shop, nova_poshta_api)
    assert tracking_calls(nova_poshta_api)[-1] == [waybill, back]
    assert shipment(shop_db, shipment_id, "delivery_state")[0] == "returning"
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (0, 1, 8)

    nova_poshta_api.set_status(back, "9")
    returned = track(shop_db, shop, nova_poshta_api)
    again = track(shop_db, shop, nova_poshta_api)

    assert (returned.returned, again.returned, again.tracked) == (1, 0, 0)
    assert (on_hand(shop_db, 101, 1), on_hand(shop_db, 101, 2), on_hand(shop_db, 102, 1)) == (2, 3, 10)
    assert invoice(shop_db, invoice_id)[0] == "returned"
    note = rows(shop_db, "SELECT status, returned_at IS NOT NULL FROM delivery_notes WHERE invoice_id = :i",
                i=invoice_id)[0]
    assert tuple(note) == ("returned", True)
    assert history(shop_db, shipment_id) == [(waybill, "103", "refused"), (back, "5", "returning"),
                                             (back, "9", "returned")]
    assert count(shop_db, "payments") == 0


def test_a_parcel_a_person_recorded_as_returned_is_not_tracked_again(shop_db, shop, nova_poshta_api):
    invoice_id, _, waybill = shipped_at(shop_db, nova_poshta_api, "R-2", [line(102, "1")])
    nova_poshta_api.set_status(waybill, "103", create_return=True)
    track(shop_db, shop, nova_poshta_api)
    record_return(shop_db, shop, invoice_id)
    calls = len(tracking_calls(nova_poshta_api))
    assert track(shop_db, shop, nova_poshta_api).tracked == 0
    assert len(tracking_calls(nova_poshta_api)) == calls and on_hand(shop_db, 102, 1) == 10


def test_a_shipment_without_a_status_change_for_stuck_days_is_listed_not_flagged(shop_db, shop, nova_poshta_api):
    invoice_id, _, waybill = shipped_at(shop_db, nova_poshta_api, "S-1", [line(102, "1")])
    nova_poshta_api.set_status(waybill, "5")
    start = nova_poshta_api.now()
    assert track(shop_db, shop, nova_poshta_api, now=start).stuck == []
    assert track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=4, hours=23)).stuck == []

    stuck = track(shop_db, shop, nova_poshta_api, now=start + timedelta(days=6))

    assert stuck.stuck == [("S-1", waybill, 6)]
    assert "stuck: invoice S-1 waybill " + waybill + ": no status change for 6 day(s)" in "\n".join(stuck.details())
    assert invoice(shop_db, invoice_id)[2] is False


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_batch_the_carrier_fails_loses_nothing_the_others_gave(shop_db, tmp_path, nova_poshta_api, fault):
    shop = tracking_shop(tmp_path, track_batch=2)
    made = [shipped_at(shop_db, nova_poshta_api, f"F-{n}", [line(102, "1")]) for n in range(3)]
    for _, _, waybill in made:
        nova_poshta_api.set_status(waybill, "9")
    nova_poshta_api.fail_next(fault, delay=3)

    with pytest.raises(TrackingIncomplete) as failed:
        track(shop_db, shop, nova_poshta_api)

    assert failed.value.retryable and API_KEY not in str(failed.value)
    assert [len(call) for call in tracking_calls(nova_poshta_api)] == [2, 1]
    assert (failed.value.summary.tracked, failed.value.summary.delivered, len(failed.value.summary.errors)) == (1, 1, 1)
    assert [invoice(shop_db, invoice_id)[0] for invoice_id, _, _ in made] == ["shipped", "shipped", "delivered"]
    summary = track(shop_db, shop, nova_poshta_api)
    assert (summary.tracked, summary.delivered, summary.errors) == (2, 2, [])
    assert [invoice(shop_db, invoice_id)[0] for invoice_id, _, _ in made] == ["delivered"] * 3
    assert count(shop_db, "shipment_status_history") == 3


def test_the_summary_is_json_and_one_line(shop_db, shop, nova_poshta_api):
    _, _, waybill = shipped_at(shop_db, nova_poshta_api, "J-1", [line(102, "1")], cod=Decimal("2200"))
    nova_poshta_api.set_status(waybill, "11")
    summary = track(shop_db, shop, nova_poshta_api)
    assert json.loads(json.dumps(summary.as_json()))["cod_paid"] == [["J-1", "2200"]]
    assert summary.line().startswith("tracking: 1 shipment(s) tracked, 1 changed, 1 delivered, 1 COD paid (2200)")


def test_shopsync_track_prints_the_summary(shop_db, db_url, tmp_path, shop, nova_poshta_api):
    invoice_id, _, waybill = shipped_at(shop_db, nova_poshta_api, "K-1", [line(102, "1")])
    nova_poshta_api.set_status(waybill, "9")

    result = run_cli("track", "--shop", SHOP, env=cli_env(tmp_path, shop, db_url, nova_poshta_api))

    assert result.returncode == 0, result.stderr
    assert "tracking: 1 shipment(s) tracked, 1 changed, 1 delivered" in result.stdout
    assert API_KEY not in result.stdout + result.stderr
    assert invoice(shop_db, invoice_id)[0] == "delivered"
