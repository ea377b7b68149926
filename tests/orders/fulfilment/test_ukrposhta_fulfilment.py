"""Ukrposhta end to end through the same passes as Nova Poshta: ship_ready makes one shipment at the fake
Ukrposhta (postcode addressing, postPay, grams, our client key as externalId), exactly once across a lost answer;
track_open moves the invoice through delivered, the COD payout, a return, and an unknown event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fake_ukrposhta import BEARER, COUNTERPARTY_TOKEN, ECOM, SENDER_UUID, TRACKING, TRACKING_BEARER
from orderdata import SHOP, TODAY, WAREHOUSES, customer, free, line, order, rows, scalar
from shipdata import CARRIER as NP_CARRIER
from shipdata import SHIP_DATE, invoice, load_directory, on_hand, ordered, pay, requested, shipment, shop_with_carrier
from shipdata import opener as np_opener
from test_ingest import shop_settings

from shopsync.carriers import ukrposhta
from shopsync.core.config import ShopSettings
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.orders.apply import apply_order
from shopsync.orders.fulfilment import shipping
from shopsync.orders.fulfilment.tracking import track_open
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

CONN_ID = "ukrposhta_test"
UP_CARRIER = {"kind": "ukrposhta", "conn_id": CONN_ID,
              "sender": {"name": "ФОП Демо", "phone": "380677654321", "client_uuid": SENDER_UUID}}
FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
BUYER_NAME = "Коваль Олена Петрівна"           # Ukrposhta wants a middle name for a COD parcel
SHIPMENTS = f"{ECOM}/shipments"


@pytest.fixture
def shop(tmp_path):
    return shop_with_carrier(tmp_path, **UP_CARRIER)


def up_connection(base_url: str) -> ConnectionInfo:
    host, port = base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id=CONN_ID, conn_type="http", host=host, port=int(port), schema="http",
                          password=BEARER, extra={"token": COUNTERPARTY_TOKEN, "tracking_token": TRACKING_BEARER,
                                                  "timeout": 0.5})


def opener(server):
    """ship_ready's and track_open's `open_carrier`: the real adapter, talking to the fake."""
    def open_carrier(settings: CarrierSettings, retry: RetryPolicy | None = None) -> ukrposhta.Ukrposhta:
        return ukrposhta.connect(up_connection(server.base_url), settings, retry or FAST)
    return open_carrier


def up_order(engine, number: str, quantity: str = "2", payment_status: str = "cod", city: str | None = "Львів",
             branch: str | None = None, zip_code: str | None = "79000", name: str = BUYER_NAME,
             phone: str = "0671112233", **fields) -> int:
    """An applied (reserved) order of good 101 at 1500 each by a new buyer, addressed the Ukrposhta way."""
    buyer = customer(phone=phone, full_name=name, city=city, zip=zip_code)
    made = order(number, [line(101, quantity)], buyer, payment_status=payment_status, delivery_city=city,
                 delivery_branch=branch, **fields)
    return apply_order(engine, SHOP, made, WAREHOUSES, None, TODAY).invoice_id


def ship(engine, shop, server):
    return shipping.ship_ready(engine, shop, open_carrier=opener(server), today=SHIP_DATE)


def track(engine, shop, server):
    return track_open(engine, shop, open_carrier=opener(server), now=server.now())


def shipped_order(engine, shop, server, number: str, payment_status: str = "cod") -> tuple[int, str]:
    """An order shipped by the pass: (invoice id, barcode)."""
    invoice_id = up_order(engine, number, payment_status=payment_status)
    requested(engine, shop, invoice_id)
    [(shipped_number, barcode)] = ship(engine, shop, server).shipped
    assert shipped_number == number
    return invoice_id, barcode


def payments(engine, invoice_id: int) -> list[tuple]:
    return [tuple(row) for row in rows(engine, "SELECT kind, amount, reference FROM payments WHERE invoice_id = :i"
                                               " ORDER BY id", i=invoice_id)]


def history(engine, invoice_id: int) -> list[tuple]:
    return [tuple(row) for row in rows(
        engine, "SELECT h.code, h.state FROM shipment_status_history h JOIN shipments s ON s.id = h.shipment_id"
                " WHERE s.invoice_id = :i ORDER BY h.status_at, h.seen_at", i=invoice_id)]


# -- shipping ----------------------------------------------------------------------------------------------------


def test_a_cod_order_becomes_one_shipment_with_post_pay_grams_and_our_key(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-1")                     # 2 x 1500, cash on delivery, zip 79000
    pay(shop_db, invoice_id, "500")
    on_hand_before, free_before = on_hand(shop_db), free(shop_db, 101)
    requested(shop_db, shop, invoice_id, weight_kg=Decimal("1.25"))

    summary = ship(shop_db, shop, ukrposhta_api)

    [parcel] = ukrposhta_api.shipments()
    assert summary.shipped == [("UP-1", parcel["barcode"])] and summary.failed == []
    row = shipment(shop_db, invoice_id)
    assert parcel["externalId"] == row.client_key == f"{SHOP}-UP-1-{row.id}"
    assert parcel["postPay"] == 2500 and parcel["sender"]["uuid"] == SENDER_UUID
    assert [p["weight"] for p in parcel["parcels"]] == [1250]
    assert parcel["parcels"][0]["declaredPrice"] == 3000      # the invoice total, above the COD
    assert parcel["deliveryType"] == "W2W"
    recipient = parcel["recipient"]
    assert (recipient["lastName"], recipient["firstName"], recipient["middleName"]) == ("Коваль", "Олена", "Петрівна")
    assert recipient["phoneNumber"] == "380671112233"
    [address] = ukrposhta_api.logged("POST", f"{ECOM}/addresses")
    assert (address.json["postcode"], address.json["city"]) == ("79000", "Львів")
    assert (row.state, row.waybill_number, row.carrier_ref, row.cod_amount) == (
        "created", parcel["barcode"], parcel["uuid"], Decimal("2500.00"))
    note = rows(shop_db, "SELECT waybill_number, cod_amount, carrier FROM delivery_notes")[0]
    assert tuple(note) == (parcel["barcode"], Decimal("2500.00"), "Укрпошта")
    assert invoice(shop_db, invoice_id).status == "shipped"
    assert on_hand(shop_db) == on_hand_before - 2 and free(shop_db, 101) == free_before

    assert ship(shop_db, shop, ukrposhta_api).shipped == []
    assert len(ukrposhta_api.shipments()) == 1 and on_hand(shop_db) == on_hand_before - 2


def test_a_paid_order_to_a_post_office_named_in_the_branch_text_has_no_post_pay(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-2", payment_status="paid", city="Київ", branch="Відділення 01001",
                          zip_code=None, name="Коваль Олена")
    requested(shop_db, shop, invoice_id)

    assert len(ship(shop_db, shop, ukrposhta_api).shipped) == 1

    [parcel] = ukrposhta_api.shipments()
    assert parcel["postPay"] is None and [p["weight"] for p in parcel["parcels"]] == [1000]
    [address] = ukrposhta_api.logged("POST", f"{ECOM}/addresses")
    assert (address.json["postcode"], address.json["city"]) == ("01001", "Київ")
    assert shipment(shop_db, invoice_id).cod_amount is None


def test_a_lost_answer_is_looked_up_and_the_shipment_recorded_once(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-3")
    requested(shop_db, shop, invoice_id)
    ukrposhta_api.fail_next("timeout", path=SHIPMENTS, method="POST", delay=2, processed=True)

    summary = ship(shop_db, shop, ukrposhta_api)

    [parcel] = ukrposhta_api.shipments()
    assert summary.shipped == [("UP-3", parcel["barcode"])]
    assert len(ukrposhta_api.logged("POST", SHIPMENTS)) == 1
    assert shipment(shop_db, invoice_id).waybill_number == parcel["barcode"]


def test_a_lost_answer_the_run_cannot_look_up_is_recognised_by_the_next_pass(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-4")
    requested(shop_db, shop, invoice_id)
    on_hand_before = on_hand(shop_db)
    ukrposhta_api.fail_next("timeout", path=SHIPMENTS, method="POST", delay=2, processed=True)
    ukrposhta_api.fail_next("500", path=f"{SHIPMENTS}/external-id/*", method="GET")

    with pytest.raises(shipping.ShippingIncomplete) as incomplete:
        ship(shop_db, shop, ukrposhta_api)

    assert [number for number, _ in incomplete.value.summary.pending] == ["UP-4"]
    assert shipment(shop_db, invoice_id).state == "creating" and invoice(shop_db, invoice_id).status == "ready"
    assert on_hand(shop_db) == on_hand_before and len(ukrposhta_api.shipments()) == 1

    summary = ship(shop_db, shop, ukrposhta_api)

    [parcel] = ukrposhta_api.shipments()
    assert summary.recognised == [("UP-4", parcel["barcode"])] and summary.shipped == []
    assert len(ukrposhta_api.logged("POST", SHIPMENTS)) == 1
    row = shipment(shop_db, invoice_id)
    assert (row.state, row.waybill_number, row.carrier_ref) == ("created", parcel["barcode"], parcel["uuid"])
    assert invoice(shop_db, invoice_id).status == "shipped" and on_hand(shop_db) == on_hand_before - 2
    assert scalar(shop_db, "SELECT count(*) FROM delivery_notes") == 1


def test_a_shipment_ukrposhta_never_got_is_created_next_pass_from_its_intent(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-7")
    requested(shop_db, shop, invoice_id)
    ukrposhta_api.fail_next("timeout", path=SHIPMENTS, method="POST", delay=2)          # not carried out
    ukrposhta_api.fail_next("500", path=f"{SHIPMENTS}/external-id/*", method="GET")

    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, ukrposhta_api)
    assert ukrposhta_api.shipments() == [] and shipment(shop_db, invoice_id).state == "creating"

    summary = ship(shop_db, shop, ukrposhta_api)

    [parcel] = ukrposhta_api.shipments()
    assert summary.shipped == [("UP-7", parcel["barcode"])] and summary.recognised == []
    assert parcel["externalId"] == shipment(shop_db, invoice_id).client_key and parcel["postPay"] == 3000
    assert [r.json["postcode"] for r in ukrposhta_api.logged("POST", f"{ECOM}/addresses")] == ["79000", "79000"]
    assert invoice(shop_db, invoice_id).status == "shipped"


def test_an_order_without_a_postcode_fails_flagged_and_nothing_reaches_ukrposhta(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-5", branch="Відділення №3", zip_code=None)
    requested(shop_db, shop, invoice_id)

    summary = ship(shop_db, shop, ukrposhta_api)

    [(number, reason)] = summary.failed
    assert number == "UP-5" and "no Ukrposhta postcode" in reason and "Відділення №3" in reason
    flagged = invoice(shop_db, invoice_id)
    assert (flagged.status, flagged.needs_attention, flagged.attention_reasons) == ("ready", True,
                                                                                    [f"shipment: {reason}"])
    assert shipment(shop_db, invoice_id).state == "failed"
    assert ukrposhta_api.logged() == [] and ukrposhta_api.shipments() == []


def test_a_refusal_by_ukrposhta_fails_the_shipment_with_its_message(shop_db, shop, ukrposhta_api):
    invoice_id = up_order(shop_db, "UP-6", name="Коваль Олена")            # COD without a middle name
    requested(shop_db, shop, invoice_id)

    [(number, reason)] = ship(shop_db, shop, ukrposhta_api).failed

    assert number == "UP-6" and "Укрпошта refused the waybill" in reason and "middleName" in reason
    assert shipment(shop_db, invoice_id).state == "failed" and ukrposhta_api.shipments() == []
    assert invoice(shop_db, invoice_id).needs_attention is True


# -- tracking ----------------------------------------------------------------------------------------------------


def test_events_to_delivered_then_the_cod_payout_make_one_cod_payment(shop_db, shop, ukrposhta_api):
    invoice_id, barcode = shipped_order(shop_db, shop, ukrposhta_api, "UP-10")
    assert track(shop_db, shop, ukrposhta_api).tracked == 0              # not handed in yet: tracking has nothing

    ukrposhta_api.set_event(barcode, 10100, "Прийнято у відділенні")
    track(shop_db, shop, ukrposhta_api)
    ukrposhta_api.set_event(barcode, 21700, "Надійшло у відділення")
    track(shop_db, shop, ukrposhta_api)
    assert invoice(shop_db, invoice_id).status == "shipped"
    ukrposhta_api.set_event(barcode, 41000, "Вручено")
    delivered = track(shop_db, shop, ukrposhta_api)

    assert delivered.delivered == 1 and delivered.cod_paid == []
    assert tuple(invoice(shop_db, invoice_id))[:2] == ("delivered", "cod")
    assert history(shop_db, invoice_id) == [("10100", "in_transit"), ("21700", "at_branch"), ("41000", "delivered")]
    assert scalar(shop_db, "SELECT status FROM delivery_notes WHERE invoice_id = :i", i=invoice_id) == "delivered"
    assert track(shop_db, shop, ukrposhta_api).tracked == 1              # COD outstanding: still tracked

    ukrposhta_api.set_postpay(barcode)
    first, second = track(shop_db, shop, ukrposhta_api), track(shop_db, shop, ukrposhta_api)

    assert first.cod_paid == [("UP-10", Decimal("3000"))] and second.cod_paid == []
    assert payments(shop_db, invoice_id) == [("cod", Decimal("3000.00"), barcode)]
    assert tuple(invoice(shop_db, invoice_id))[:2] == ("delivered", "paid")
    assert scalar(shop_db, "SELECT delivery_state FROM shipments WHERE invoice_id = :i", i=invoice_id) == "cod_paid"
    assert history(shop_db, invoice_id)[-1] == ("41000:OP", "cod_paid")


def test_a_returned_parcel_is_refused_then_returned_and_its_goods_come_back_once(shop_db, shop, ukrposhta_api):
    on_hand_before = on_hand(shop_db)
    invoice_id, barcode = shipped_order(shop_db, shop, ukrposhta_api, "UP-11")
    ukrposhta_api.set_event(barcode, 10100, "Прийнято у відділенні")
    ukrposhta_api.set_event(barcode, 31200, "Повертається відправнику")

    refused = track(shop_db, shop, ukrposhta_api)

    assert refused.refused == 1 and invoice(shop_db, invoice_id).status == "refused"
    assert on_hand(shop_db) == on_hand_before - 2
    ukrposhta_api.set_event(barcode, 41000, "Вручено", eventReason_id=10, eventReason="Повернуто відправнику")

    returned = track(shop_db, shop, ukrposhta_api)
    again = track(shop_db, shop, ukrposhta_api)

    assert (returned.returned, again.returned, again.tracked) == (1, 0, 0)
    assert invoice(shop_db, invoice_id).status == "returned" and on_hand(shop_db) == on_hand_before
    assert scalar(shop_db, "SELECT status FROM delivery_notes WHERE invoice_id = :i", i=invoice_id) == "returned"
    assert history(shop_db, invoice_id) == [("31200", "returning"), ("41000:10", "returned")]
    assert payments(shop_db, invoice_id) == []


def test_a_return_reported_as_delivered_after_returning_is_the_goods_back(shop_db, shop, ukrposhta_api):
    on_hand_before = on_hand(shop_db)
    invoice_id, barcode = shipped_order(shop_db, shop, ukrposhta_api, "UP-13")
    ukrposhta_api.set_event(barcode, 31200, "Повертається відправнику")
    track(shop_db, shop, ukrposhta_api)
    ukrposhta_api.set_event(barcode, 41000, "Вручено")                     # to the sender: same barcode

    summary = track(shop_db, shop, ukrposhta_api)

    assert (summary.delivered, summary.returned) == (0, 1)
    assert invoice(shop_db, invoice_id).status == "returned" and on_hand(shop_db) == on_hand_before
    assert scalar(shop_db, "SELECT delivery_state FROM shipments WHERE invoice_id = :i", i=invoice_id) == "returned"
    assert track(shop_db, shop, ukrposhta_api).tracked == 0 and payments(shop_db, invoice_id) == []


def test_a_paid_parcel_delivered_is_no_longer_tracked(shop_db, shop, ukrposhta_api):
    invoice_id, barcode = shipped_order(shop_db, shop, ukrposhta_api, "UP-14", payment_status="paid")
    ukrposhta_api.set_event(barcode, 41000, "Вручено")

    assert track(shop_db, shop, ukrposhta_api).delivered == 1
    assert tuple(invoice(shop_db, invoice_id)) == ("delivered", "paid", False, [])
    calls = len(ukrposhta_api.logged("GET", f"{TRACKING}/statuses/last"))
    assert track(shop_db, shop, ukrposhta_api).tracked == 0
    assert len(ukrposhta_api.logged("GET", f"{TRACKING}/statuses/last")) == calls
    assert payments(shop_db, invoice_id) == []


def test_an_unknown_event_is_stored_and_flagged_once(shop_db, shop, ukrposhta_api):
    invoice_id, barcode = shipped_order(shop_db, shop, ukrposhta_api, "UP-12", payment_status="paid")
    ukrposhta_api.set_event(barcode, 10100, "Прийнято у відділенні")
    track(shop_db, shop, ukrposhta_api)
    ukrposhta_api.set_event(barcode, 77777, "Щось нове")

    first, second = track(shop_db, shop, ukrposhta_api), track(shop_db, shop, ukrposhta_api)

    assert first.unknown_codes == [(barcode, "77777")] and second.unknown_codes == []
    assert history(shop_db, invoice_id) == [("10100", "in_transit"), ("77777", None)]
    flagged = invoice(shop_db, invoice_id)
    assert (flagged.status, flagged.attention_reasons) == ("shipped", ["unknown ukrposhta status 77777 (Щось нове)"])
    assert scalar(shop_db, "SELECT delivery_state FROM shipments WHERE invoice_id = :i", i=invoice_id) == "in_transit"


# -- both carriers in one shop -----------------------------------------------------------------------------------


def test_a_shop_with_both_carriers_ships_and_tracks_each_at_its_own(shop_db, tmp_path, nova_poshta_api, ukrposhta_api):
    settings = shop_settings(tmp_path / "inbox")
    dumped = {key: value for key, value in settings.model_dump().items() if key != "carriers"}
    both = ShopSettings.model_validate({**dumped, "carrier": [NP_CARRIER, UP_CARRIER]})
    load_directory(shop_db, both, nova_poshta_api.base_url)
    to_np = ordered(shop_db, "MIX-1", quantity="1")
    to_up = up_order(shop_db, "MIX-2", quantity="1")
    requested(shop_db, both, to_np)
    with shop_db.begin() as conn:
        shipping.request_shipment(conn, both, to_up, carrier_kind="ukrposhta")
    openers = {"nova_poshta": np_opener(nova_poshta_api.base_url), "ukrposhta": opener(ukrposhta_api)}

    def open_either(settings: CarrierSettings, retry: RetryPolicy | None = None):
        return openers[settings.kind](settings, retry)

    summary = shipping.ship_ready(shop_db, both, open_carrier=open_either, today=SHIP_DATE)

    [document], [parcel] = nova_poshta_api.documents(), ukrposhta_api.shipments()
    assert sorted(summary.shipped) == [("MIX-1", document["IntDocNumber"]), ("MIX-2", parcel["barcode"])]
    assert (shipment(shop_db, to_np).carrier, shipment(shop_db, to_up).carrier) == ("nova_poshta", "ukrposhta")
    assert parcel["postPay"] == 1500

    nova_poshta_api.set_status(document["IntDocNumber"], "9")
    ukrposhta_api.set_event(parcel["barcode"], 41000, "Вручено")
    tracked = track_open(shop_db, both, open_carrier=open_either, now=ukrposhta_api.now())

    assert (tracked.tracked, tracked.delivered, tracked.errors) == (2, 2, [])
    assert invoice(shop_db, to_np).status == invoice(shop_db, to_up).status == "delivered"
