"""The Ukrposhta adapter (carriers/ukrposhta.py) against the fake Ukrposhta API (tests/fakes/fake_ukrposhta.py)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fake_ukrposhta import BEARER, COUNTERPARTY_TOKEN, ECOM, SENDER_UUID, TRACKING, TRACKING_BEARER, FakeUkrposhta

from shopsync.carriers import ukrposhta
from shopsync.carriers.base import Parcel, Recipient, TrackedParcel, Waybill, WaybillRequest
from shopsync.carriers.connect import open_carrier
from shopsync.carriers.statuses import UKRPOSHTA, status_map
from shopsync.core.fulfilment_settings import DELIVERY_STATES, CarrierSettings, SenderSettings
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
SECRETS = (BEARER, COUNTERPARTY_TOKEN, TRACKING_BEARER)
SETTINGS = CarrierSettings(kind="ukrposhta", conn_id="ukrposhta_demo",
                           sender=SenderSettings(name="ФОП Демо", phone="380677654321", client_uuid=SENDER_UUID))
BUYER = Recipient(name="Коваль Олена Петрівна", phone="+380 67 111 22 33", city_name="Львів", postcode="79000")


def connection_to(base_url: str, **extra: Any) -> ConnectionInfo:
    host, port = base_url.removeprefix("http://").split(":")
    values = {"token": COUNTERPARTY_TOKEN, "tracking_token": TRACKING_BEARER, "timeout": "0.5", **extra}
    return ConnectionInfo(conn_id="ukrposhta_demo", conn_type="http", host=host, port=int(port), schema="http",
                          password=BEARER, extra={k: v for k, v in values.items() if v is not None})


@pytest.fixture
def api(ukrposhta_api: FakeUkrposhta) -> ukrposhta.Ukrposhta:
    return ukrposhta.connect(connection_to(ukrposhta_api.base_url), SETTINGS, FAST)


def request(key: str = "demo-PROM-101-7", cod: Decimal | None = None, recipient: Recipient = BUYER,
            **parcel: Any) -> WaybillRequest:
    values = {"weight_kg": Decimal("1.25"), "declared_value": Decimal("500"), **parcel}
    return WaybillRequest(client_key=key, ship_date=date(2026, 12, 7), recipient=recipient, parcel=Parcel(**values),
                          service_type="W2W", payer="Recipient", cod_amount=cod)


def assert_no_secret(text: str) -> None:
    assert not any(secret in text for secret in SECRETS), text


# -- create ----------------------------------------------------------------------------------------------


def test_create_without_cod_sends_grams_the_split_name_and_our_key(ukrposhta_api, api) -> None:
    waybill = api.create_waybill(request())

    [shipment] = ukrposhta_api.shipments()
    assert waybill == Waybill(number=shipment["barcode"], ref=shipment["uuid"],
                              cost=Decimal(str(shipment["deliveryPrice"])), estimated_delivery=date.fromisoformat(
                                  shipment["deliveryDate"][:10]), cod_form=None, client_key="demo-PROM-101-7")
    assert shipment["externalId"] == "demo-PROM-101-7" and shipment["postPay"] is None
    assert shipment["parcels"][0]["weight"] == 1250 and shipment["parcels"][0]["declaredPrice"] == 500
    assert shipment["paidByRecipient"] is True and shipment["sender"]["uuid"] == SENDER_UUID
    recipient = shipment["recipient"]
    assert (recipient["lastName"], recipient["firstName"], recipient["middleName"]) == ("Коваль", "Олена", "Петрівна")
    assert recipient["phoneNumber"] == "380671112233"
    [address] = ukrposhta_api.logged("POST", f"{ECOM}/addresses")
    assert address.json == {"postcode": "79000", "city": "Львів", "country": "UA"} and "token" not in address.query


def test_create_with_cod_sends_post_pay_and_raises_the_declared_price_to_it(ukrposhta_api, api) -> None:
    waybill = api.create_waybill(request(cod=Decimal("850.50")))

    [shipment] = ukrposhta_api.shipments()
    assert shipment["postPay"] == 850.5 and shipment["postPayPaidByRecipient"] is True
    assert shipment["parcels"][0]["declaredPrice"] == 850.5
    assert waybill.cod_form == "money_transfer" and waybill.number == shipment["barcode"]


def test_weight_is_in_whole_grams_rounded_up_and_shared_between_seats(ukrposhta_api, api) -> None:
    api.create_waybill(request("demo-1", weight_kg=Decimal("0.0004")))
    api.create_waybill(request("demo-2", weight_kg=Decimal("2.501"), seats=2, declared_value=Decimal("301")))

    light, heavy = ukrposhta_api.shipments()
    assert [p["weight"] for p in light["parcels"]] == [1]
    assert [p["weight"] for p in heavy["parcels"]] == [1251, 1250]
    assert [p["declaredPrice"] for p in heavy["parcels"]] == [150.5, 150.5]


@pytest.mark.parametrize(("recipient", "words"), [(replace(BUYER, name="Коваль"), "needs a last name and a first name"),
                                                  (replace(BUYER, postcode=None), "5-digit postcode")])
def test_a_recipient_ukrposhta_cannot_take_is_refused_before_any_call(ukrposhta_api, api, recipient, words) -> None:
    with pytest.raises(RemoteRejected, match=words):
        api.create_waybill(request(recipient=recipient))
    assert ukrposhta_api.logged() == []


def test_a_refusal_is_remote_rejected_with_ukrposhtas_message_and_code(ukrposhta_api, api) -> None:
    no_middle_name = Recipient(name="Коваль Олена", phone="380671112233", city_name="Львів", postcode="79000")

    with pytest.raises(RemoteRejected) as refused:
        api.create_waybill(request(cod=Decimal(100), recipient=no_middle_name))

    assert "recipient middleName is required" in str(refused.value)
    assert "POST /ecom/0.0.1/shipments" in str(refused.value)
    assert refused.value.code == "UPE01001" and refused.value.status == 400
    assert ukrposhta_api.shipments() == []


# -- exactly once ----------------------------------------------------------------------------------------


def test_a_lost_answer_to_the_shipment_post_gives_exactly_the_one_shipment(ukrposhta_api, api) -> None:
    ukrposhta_api.fail_next("timeout", path=f"{ECOM}/shipments", method="POST", delay=2, processed=True)

    waybill = api.create_waybill(request())

    [shipment] = ukrposhta_api.shipments()
    assert (waybill.number, waybill.ref) == (shipment["barcode"], shipment["uuid"])
    assert len(ukrposhta_api.logged("POST", f"{ECOM}/shipments")) == 1          # never sent twice
    assert api.find_waybill("demo-PROM-101-7", date(2026, 12, 7)) == waybill
    assert api.find_waybill("demo-PROM-999-1", date(2026, 12, 7)) is None


def test_a_shipment_post_that_failed_is_not_repeated_and_stays_a_remote_error(ukrposhta_api, api) -> None:
    ukrposhta_api.fail_next("500", path=f"{ECOM}/shipments", method="POST")

    with pytest.raises(RemoteError, match="answered 500"):
        api.create_waybill(request())

    assert ukrposhta_api.shipments() == []
    assert len(ukrposhta_api.logged("POST", f"{ECOM}/shipments")) == 1
    assert len(ukrposhta_api.logged("GET", f"{ECOM}/shipments/external-id/*")) == 1   # it looked before failing


def test_find_skips_a_deleted_shipment(ukrposhta_api, api) -> None:
    first = api.create_waybill(request())
    api.delete_waybill(first)

    assert api.find_waybill("demo-PROM-101-7", date(2026, 12, 7)) is None
    again = api.create_waybill(request())
    assert api.find_waybill("demo-PROM-101-7", date(2026, 12, 7)) == again != first


# -- track -----------------------------------------------------------------------------------------------


def test_track_gives_each_barcodes_last_event_as_a_string_code_in_kyiv_time(ukrposhta_api, api) -> None:
    one, two, three = (api.create_waybill(request(f"demo-{n}")).number for n in range(3))
    ukrposhta_api.set_event(one, 10100, "Прийнято у відділенні", date="2026-12-05T09:10:00")
    ukrposhta_api.set_event(one, 41000, "Вручено", date="2026-12-07T12:30:05")
    ukrposhta_api.set_event(two, "21700", "Надійшло у відділення", date="2026-12-06T08:00:00+02:00")

    statuses = api.track([TrackedParcel(one), TrackedParcel(two), TrackedParcel(three)])

    assert [(s.number, s.code, s.text) for s in statuses] == [(one, "41000", "Вручено"),
                                                               (two, "21700", "Надійшло у відділення")]
    assert statuses[0].at == datetime(2026, 12, 7, 12, 30, 5, tzinfo=ukrposhta.KYIV)
    assert statuses[0].at.utcoffset() == timedelta(hours=2) and statuses[0].cod_paid is False
    assert statuses[1].at.isoformat() == "2026-12-06T08:00:00+02:00"
    assert status_map("ukrposhta")[statuses[0].code] == "delivered"
    assert len(ukrposhta_api.logged("GET", f"{TRACKING}/statuses/last")) == 3


def test_an_unknown_event_is_passed_through_and_a_return_has_its_own_code(ukrposhta_api, api) -> None:
    odd, back = (api.create_waybill(request(f"demo-{n}")).number for n in range(2))
    ukrposhta_api.set_event(odd, 77777, "Щось нове")
    ukrposhta_api.set_event(back, 41000, "Вручено", eventReason_id=10, eventReason="Повернуто відправнику")

    statuses = {s.number: s for s in api.track([TrackedParcel(odd), TrackedParcel(back)])}

    assert statuses[odd].code == "77777" and statuses[odd].code not in status_map("ukrposhta")
    assert statuses[odd].raw["eventName"] == "Щось нове"
    assert statuses[back].code == "41000:10" and status_map("ukrposhta")["41000:10"] == "returned"
    assert statuses[back].text == "Вручено (Повернуто відправнику)"


def test_a_barcode_tracking_refuses_is_left_out_and_the_others_tracked(ukrposhta_api, api, caplog) -> None:
    barcode = api.create_waybill(request()).number
    ukrposhta_api.set_event(barcode, 20700, "Сортувальний центр")

    with caplog.at_level("WARNING"):
        statuses = api.track([TrackedParcel("12-34"), TrackedParcel(barcode)])

    assert [s.number for s in statuses] == [barcode]
    assert "12-34" in caplog.text and "is not valid" in caplog.text


def test_an_answer_with_an_unreadable_date_is_left_out_and_the_others_tracked(ukrposhta_api, api, caplog) -> None:
    odd, fine = api.create_waybill(request("demo-odd")).number, api.create_waybill(request("demo-fine")).number
    ukrposhta_api.set_event(odd, 20700, "Сортувальний центр", date="31.02.2026 25:00")
    ukrposhta_api.set_event(fine, 20700, "Сортувальний центр")

    with caplog.at_level("WARNING"):
        statuses = api.track([TrackedParcel(odd), TrackedParcel(fine)])

    assert [s.number for s in statuses] == [fine]
    assert odd in caplog.text and "cannot be read" in caplog.text


def test_a_delivered_cod_parcel_reports_its_transfer_and_then_the_payout(ukrposhta_api, api) -> None:
    cod, plain = api.create_waybill(request("demo-1", cod=Decimal("850.50"))), api.create_waybill(request("demo-2"))
    for waybill in (cod, plain):
        ukrposhta_api.set_event(waybill.number, 41000, "Вручено", date="2026-12-09T11:00:00")

    delivered = {s.number: s for s in api.track([TrackedParcel(cod.number), TrackedParcel(plain.number)])}
    assert (delivered[cod.number].code, delivered[cod.number].cod_amount) == ("41000", Decimal("850.5"))
    assert delivered[cod.number].cod_paid is False
    assert (delivered[plain.number].code, delivered[plain.number].cod_amount) == ("41000", None)   # no transfer

    ukrposhta_api.set_postpay(cod.number, "OP", "виплачений", time="2026-12-11T15:20:00")
    [paid] = api.track([TrackedParcel(cod.number)])

    assert (paid.code, paid.text, paid.cod_paid, paid.cod_amount) == ("41000:OP", "виплачений", True, Decimal("850.5"))
    assert paid.at == datetime(2026, 12, 11, 15, 20, tzinfo=ukrposhta.KYIV)
    assert status_map("ukrposhta")[paid.code] == "cod_paid"
    assert json.loads(json.dumps(paid.raw))["postpay"]["sum"] == 850.5       # plain JSON for the history's jsonb


def test_tracking_falls_back_to_the_ecom_bearer() -> None:
    server = FakeUkrposhta(tracking_bearer=BEARER).start()
    try:
        api = ukrposhta.connect(connection_to(server.base_url, tracking_token=None), SETTINGS, FAST)
        barcode = api.create_waybill(request()).number
        server.set_event(barcode, 20700, "Сортувальний центр")
        assert [s.code for s in api.track([TrackedParcel(barcode)])] == ["20700"]
    finally:
        server.stop()


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_tracking_that_keeps_failing_is_a_remote_error_after_the_retries(ukrposhta_api, api, fault) -> None:
    barcode = api.create_waybill(request()).number
    ukrposhta_api.set_event(barcode, 10100, "Прийнято")
    ukrposhta_api.fail_next(fault, count=3, path=f"{TRACKING}/statuses/last", delay=1.5)

    with pytest.raises(RemoteError) as failed:
        api.track([TrackedParcel(barcode)])

    assert len(ukrposhta_api.logged("GET", f"{TRACKING}/statuses/last")) == 3
    assert_no_secret(str(failed.value))


def test_one_failure_then_an_answer_is_retried(ukrposhta_api, api) -> None:
    barcode = api.create_waybill(request()).number
    ukrposhta_api.set_event(barcode, 10100, "Прийнято")
    ukrposhta_api.fail_next("503", path=f"{TRACKING}/statuses/last")

    assert [s.code for s in api.track([TrackedParcel(barcode)])] == ["10100"]


# -- delete ----------------------------------------------------------------------------------------------


def test_delete_a_created_shipment_once_and_refuse_one_handed_in(ukrposhta_api, api) -> None:
    gone, kept = api.create_waybill(request("demo-1")), api.create_waybill(request("demo-2"))
    ukrposhta_api.set_event(kept.number, 10100, "Прийнято")

    api.delete_waybill(gone)
    api.delete_waybill(gone)                                   # already gone: nothing to do

    assert [s["uuid"] for s in ukrposhta_api.shipments()] == [kept.ref]
    with pytest.raises(RemoteRejected, match="cannot be deleted"):
        api.delete_waybill(kept)


# -- secrets ---------------------------------------------------------------------------------------------


def test_a_wrong_counterparty_token_is_refused_without_showing_it(ukrposhta_api) -> None:
    api = ukrposhta.connect(connection_to(ukrposhta_api.base_url, token="not-the-token-Xy12"), SETTINGS, FAST)

    with pytest.raises(RemoteRejected) as refused:
        api.find_waybill("demo-1", date(2026, 12, 7))

    assert refused.value.status == 403 and "counterparty token" in str(refused.value)
    assert "not-the-token-Xy12" not in str(refused.value) and BEARER not in str(refused.value)


def test_a_wrong_bearer_is_refused_by_name(ukrposhta_api) -> None:
    wrong = replace(connection_to(ukrposhta_api.base_url), password="bad-bearer-Qq")

    with pytest.raises(RemoteRejected, match="eCom bearer was refused") as refused:
        ukrposhta.connect(wrong, SETTINGS, FAST).find_waybill("demo-1", date(2026, 12, 7))
    assert "bad-bearer-Qq" not in str(refused.value)


def test_a_connection_error_names_no_secret(caplog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]            # closed again: nothing listens there
    api = ukrposhta.connect(connection_to(f"http://127.0.0.1:{port}"), SETTINGS, FAST)

    with pytest.raises(RemoteError) as failed, caplog.at_level("WARNING"):
        api.find_waybill("demo-1", date(2026, 12, 7))

    assert "failed" in str(failed.value)
    assert_no_secret(str(failed.value))
    assert_no_secret(caplog.text)
    assert_no_secret(repr(api))


def test_connect_needs_the_counterparty_token(ukrposhta_api) -> None:
    with pytest.raises(RemoteRejected, match="counterparty token"):
        ukrposhta.connect(connection_to(ukrposhta_api.base_url, token=None), SETTINGS, FAST)


def test_open_carrier_connects_from_the_airflow_connection(ukrposhta_api, monkeypatch) -> None:
    host, port = ukrposhta_api.base_url.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_UKRPOSHTA_DEMO", json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": BEARER,
        "extra": {"token": COUNTERPARTY_TOKEN, "tracking_token": TRACKING_BEARER}}))

    carrier = open_carrier(SETTINGS, FAST)

    assert carrier.kind == "ukrposhta" and carrier.find_waybill("demo-1", date(2026, 12, 7)) is None


def test_the_default_map_uses_only_our_delivery_states() -> None:
    assert set(UKRPOSHTA.values()) <= set(DELIVERY_STATES)
    assert UKRPOSHTA["41000"] == "delivered" and UKRPOSHTA["21700"] == "at_branch"
