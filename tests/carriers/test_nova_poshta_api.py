"""The Nova Poshta adapter against the fake Nova Poshta API (tests/fakes/fake_nova_poshta.py)."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from fake_nova_poshta import (
    API_KEY,
    COD_REFUSED_CODE,
    KYIV_BRANCH_33_REF,
    KYIV_POSTOMAT_REF,
    KYIV_REF,
    LVIV_BRANCH_5_REF,
    LVIV_REF,
    PETRIVKA_KYIV_REF,
    PETRIVKA_ODESA_REF,
    SENDER,
)

from shopsync.carriers import nova_poshta
from shopsync.carriers.base import Parcel, Recipient, TrackedParcel, Waybill, WaybillRequest
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
KYIV = ZoneInfo("Europe/Kyiv")
SHIP_DATE = date(2026, 12, 7)
SETTINGS = CarrierSettings(kind="nova_poshta", conn_id="nova_poshta_demo", sender={
    "name": "ТОВ Демо", "phone": SENDER["SendersPhone"], "city_ref": SENDER["CitySender"],
    "counterparty_ref": SENDER["Sender"], "address_ref": SENDER["SenderAddress"],
    "contact_ref": SENDER["ContactSender"]})


def connection_to(server, password: str = API_KEY, timeout: float = 2.0) -> ConnectionInfo:
    host, port = server.base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id="nova_poshta_demo", conn_type="http", host=host, port=int(port), schema="http",
                          password=password, extra={"timeout": timeout})


@pytest.fixture
def carrier(nova_poshta_api) -> nova_poshta.NovaPoshta:
    return nova_poshta.connect(connection_to(nova_poshta_api), SETTINGS, FAST)


def request(key: str = "demo-PROM-1-1", cod: Decimal | None = None, phone: str = "380671112233",
            form: str = "money_transfer", fallback: bool = True, branch: str = KYIV_BRANCH_33_REF,
            city: str = KYIV_REF) -> WaybillRequest:
    recipient = Recipient(name="Шевченко Тарас", phone=phone, city_name="Київ", city_ref=city, branch_ref=branch,
                          branch_number="33")
    return WaybillRequest(client_key=key, ship_date=SHIP_DATE, recipient=recipient,
                          parcel=Parcel(weight_kg=Decimal("1.5"), declared_value=Decimal("1500")),
                          service_type="WarehouseWarehouse", payer="Recipient", cod_amount=cod, cod_form=form,
                          cod_fallback=fallback)


def saved_bodies(server) -> list[dict]:
    return [r.json for r in server.logged("POST", "/v2.0/json/") if r.json.get("calledMethod") == "save"]


# -- create -----------------------------------------------------------------------------------------


def test_create_without_cod_sends_the_recipient_by_refs_and_our_key(nova_poshta_api, carrier):
    waybill = carrier.create_waybill(request())
    assert len(waybill.number) == 14 and waybill.number.startswith("20450")
    assert waybill.cost == Decimal(nova_poshta_api.documents()[0]["CostOnSite"]) and waybill.cod_form is None
    assert waybill.estimated_delivery == date(2026, 12, 8) and waybill.client_key == "demo-PROM-1-1"
    sent = saved_bodies(nova_poshta_api)[0]["methodProperties"]
    assert sent["CityRecipient"] == KYIV_REF and sent["RecipientAddress"] == KYIV_BRANCH_33_REF
    assert sent["RecipientType"] == "PrivatePerson" and sent["RecipientsPhone"] == "380671112233"
    assert sent["InfoRegClientBarcodes"] == "demo-PROM-1-1" and sent["DateTime"] == "07.12.2026"
    assert "BackwardDeliveryData" not in sent and "AfterpaymentOnGoodsCost" not in sent
    assert sent["Weight"] == "1.5" and sent["Cost"] == "1500"


def test_create_with_classic_cod(nova_poshta_api, carrier):
    waybill = carrier.create_waybill(request(cod=Decimal("1250.50")))
    assert waybill.cod_form == "money_transfer"
    sent = saved_bodies(nova_poshta_api)[0]["methodProperties"]
    assert sent["BackwardDeliveryData"] == [{"PayerType": "Recipient", "CargoType": "Money",
                                             "RedeliveryString": "1250.5"}]
    status = carrier.track([TrackedParcel(waybill.number, "380671112233")])[0]
    assert status.cod_amount == Decimal("1250.5") and status.code == "1" and not status.cod_paid


def test_create_with_payment_control(nova_poshta_api, carrier):
    waybill = carrier.create_waybill(request(cod=Decimal("900"), form="payment_control"))
    assert waybill.cod_form == "payment_control"
    sent = saved_bodies(nova_poshta_api)[0]["methodProperties"]
    assert sent["AfterpaymentOnGoodsCost"] == "900" and "BackwardDeliveryData" not in sent


def test_classic_cod_refused_falls_back_to_payment_control_once(nova_poshta_api, carrier):
    nova_poshta_api.refuse_classic_cod(SENDER["Sender"])
    waybill = carrier.create_waybill(request(cod=Decimal("700")))
    assert waybill.cod_form == "payment_control"
    bodies = [b["methodProperties"] for b in saved_bodies(nova_poshta_api)]
    assert len(bodies) == 2 and "BackwardDeliveryData" in bodies[0]
    assert bodies[1]["AfterpaymentOnGoodsCost"] == "700" and "BackwardDeliveryData" not in bodies[1]
    assert [d["IntDocNumber"] for d in nova_poshta_api.documents()] == [waybill.number]


def test_classic_cod_refused_without_fallback_is_rejected_with_the_code(nova_poshta_api, carrier):
    nova_poshta_api.refuse_classic_cod(SENDER["Sender"])
    with pytest.raises(RemoteRejected) as refused:
        carrier.create_waybill(request(cod=Decimal("700"), fallback=False))
    assert refused.value.code == COD_REFUSED_CODE and nova_poshta_api.documents() == []


def test_a_refused_document_is_remote_rejected_with_the_code_and_no_retry(nova_poshta_api, carrier):
    with pytest.raises(RemoteRejected) as refused:
        carrier.create_waybill(request(branch=LVIV_BRANCH_5_REF))       # a Lviv branch in Kyiv
    assert refused.value.code == "20000200041" and "RecipientAddress" in str(refused.value)
    assert "InternetDocument.save" in str(refused.value) and len(saved_bodies(nova_poshta_api)) == 1


def test_a_recipient_without_refs_is_refused_before_any_call(nova_poshta_api, carrier):
    with pytest.raises(RemoteRejected, match="no Nova Poshta city and branch"):
        carrier.create_waybill(request(branch=""))
    assert nova_poshta_api.logged() == []


# -- exactly once: find after a lost answer ---------------------------------------------------------


def test_save_is_not_retried_and_find_finds_the_document_of_a_lost_answer(nova_poshta_api):
    carrier = nova_poshta.connect(connection_to(nova_poshta_api, timeout=0.5), SETTINGS, FAST)
    carrier.create_waybill(request(key="demo-PROM-7-3"))                       # another shipment's document
    nova_poshta_api.fail_next("timeout", processed=True, delay=1.5)
    with pytest.raises(RemoteError, match="timed out"):
        carrier.create_waybill(request(key="demo-PROM-8-4"))
    assert len(saved_bodies(nova_poshta_api)) == 2 and len(nova_poshta_api.documents()) == 2
    found = carrier.find_waybill("demo-PROM-8-4", SHIP_DATE)
    created = [d for d in nova_poshta_api.documents() if d["fields"]["InfoRegClientBarcodes"] == "demo-PROM-8-4"]
    assert len(created) == 1 and isinstance(found, Waybill)
    assert (found.number, found.ref, found.client_key) == (created[0]["IntDocNumber"], created[0]["Ref"],
                                                           "demo-PROM-8-4")
    assert found.cost == Decimal(created[0]["CostOnSite"]) and found.estimated_delivery == date(2026, 12, 8)


def test_find_looks_a_day_either_side_and_answers_none_when_absent(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-9-5", cod=Decimal("100")))
    assert carrier.find_waybill("demo-PROM-9-5", date(2026, 12, 8)).number == made.number
    assert carrier.find_waybill("demo-PROM-9-5", date(2026, 12, 6)).cod_form == "money_transfer"
    assert carrier.find_waybill("demo-PROM-9-5", date(2026, 12, 10)) is None
    assert carrier.find_waybill("demo-PROM-0-0", SHIP_DATE) is None
    listed = [r.json["methodProperties"] for r in nova_poshta_api.logged("POST")
              if r.json["calledMethod"] == "getDocumentList"]
    assert listed[0] == {"DateTimeFrom": "07.12.2026", "DateTimeTo": "09.12.2026", "GetFullList": "1"}


def test_a_deleted_document_is_not_found(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-10-6"))
    carrier.delete_waybill(made)
    assert carrier.find_waybill("demo-PROM-10-6", SHIP_DATE) is None
    assert nova_poshta_api.documents() == []
    assert nova_poshta_api.documents(include_deleted=True)[0]["tracking"]["StatusCode"] == "2"


# -- delete -----------------------------------------------------------------------------------------


def test_delete_sends_the_ref_and_a_lost_answer_counts_as_done(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-11-7"))
    nova_poshta_api.fail_next("500", processed=False)
    nova_poshta_api.fail_next("drop", processed=True)
    carrier.delete_waybill(made)                         # 500, then deleted but the answer lost, then "not found"
    deletes = [r.json["methodProperties"] for r in nova_poshta_api.logged("POST") if r.json["calledMethod"] == "delete"]
    assert deletes == [{"DocumentRefs": [made.ref]}] * 3
    assert nova_poshta_api.documents() == []


def test_delete_of_a_handed_over_document_is_rejected(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-12-8"))
    nova_poshta_api.set_status(made.number, 5)
    with pytest.raises(RemoteRejected, match="can not be deleted"):
        carrier.delete_waybill(made)


# -- track ------------------------------------------------------------------------------------------


def test_track_250_parcels_takes_three_calls_of_at_most_100(nova_poshta_api, carrier):
    made = [carrier.create_waybill(request(key=f"demo-PROM-{n}-{n}")).number for n in range(5)]
    parcels = [TrackedParcel(made[n % 5] if n < 5 else f"2045099{n:07d}", "380671112233") for n in range(250)]
    statuses = carrier.track(parcels)
    calls = [r.json["methodProperties"]["Documents"] for r in nova_poshta_api.logged("POST")
             if r.json["calledMethod"] == "getStatusDocuments"]
    assert [len(c) for c in calls] == [100, 100, 50]
    assert len(statuses) == 250 and [s.number for s in statuses[:5]] == made
    assert {s.code for s in statuses[5:]} == {"3"}


def test_the_four_date_formats_become_aware_kyiv_times(nova_poshta_api, carrier):
    made = [carrier.create_waybill(request(key=f"demo-PROM-d-{n}")).number for n in range(4)]
    nova_poshta_api.set_status(made[0], 7, TrackingUpdateDate="2023-04-07 11:36:10")
    nova_poshta_api.set_status(made[1], 9, TrackingUpdateDate="", RecipientDateTime="07.04.2023 13:35:58")
    nova_poshta_api.set_status(made[2], 4, TrackingUpdateDate="", DateCreated="06-04-2023 08:20:34")
    nova_poshta_api.set_status(made[3], 6, TrackingUpdateDate="07.04.2023")
    statuses = carrier.track([TrackedParcel(n, "380671112233") for n in made])
    assert [s.at for s in statuses] == [datetime(2023, 4, 7, 11, 36, 10, tzinfo=KYIV),
                                        datetime(2023, 4, 7, 13, 35, 58, tzinfo=KYIV),
                                        datetime(2023, 4, 6, 8, 20, 34, tzinfo=KYIV),
                                        datetime(2023, 4, 7, tzinfo=KYIV)]
    assert all(s.at.utcoffset() is not None for s in statuses)
    assert statuses[0].at.utcoffset().total_seconds() == 3 * 3600       # summer time in April


@pytest.mark.parametrize(("text", "expected"), [
    ("06-04-2023 08:20:34", datetime(2023, 4, 6, 8, 20, 34, tzinfo=KYIV)),
    ("07.04.2023 13:35:58", datetime(2023, 4, 7, 13, 35, 58, tzinfo=KYIV)),
    ("2023-04-07 11:36:10", datetime(2023, 4, 7, 11, 36, 10, tzinfo=KYIV)),
    ("07.04.2023", datetime(2023, 4, 7, tzinfo=KYIV)),
    ("", None), ("0001-01-01 00:00:00", None), ("later", None), (None, None)])
def test_np_time_reads_each_format(text, expected):
    assert nova_poshta.np_time(text) == expected


def test_unknown_code_80_passes_through_as_a_string(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-13-9"))
    nova_poshta_api.set_status(made.number, 80)
    status = carrier.track([TrackedParcel(made.number, "380671112233")])[0]
    assert status.code == "80" and isinstance(status.code, str) and status.text
    assert status.raw["StatusCode"] == "80"


def test_cod_paid_and_amount_from_numbers_or_strings(nova_poshta_api, carrier):
    first = carrier.create_waybill(request(key="demo-PROM-14-1", cod=Decimal("1500")))     # RedeliverySum a string
    second = carrier.create_waybill(request(key="demo-PROM-14-2", cod=Decimal("800")))     # ... a number
    for made in (first, second):
        nova_poshta_api.set_status(made.number, 11)
    statuses = carrier.track([TrackedParcel(made.number, "380671112233") for made in (first, second)])
    raw_sums = [s.raw["RedeliverySum"] for s in statuses]
    assert {type(v) for v in raw_sums} == {str, int}
    assert [(s.cod_paid, s.cod_amount) for s in statuses] == [(True, Decimal("1500")), (True, Decimal("800"))]


def test_refusal_with_a_return_document_gives_its_number(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-15-1", cod=Decimal("300")))
    moved = nova_poshta_api.set_status(made.number, 102, create_return=True)
    back = moved["return"]["IntDocNumber"]
    status = carrier.track([TrackedParcel(made.number, "380671112233")])[0]
    assert status.code == "102" and status.return_number == back and back != made.number
    nova_poshta_api.set_status(back, 9)
    returned = carrier.track([TrackedParcel(back, SENDER["SendersPhone"])])[0]
    assert returned.code == "9" and returned.return_number is None


def test_a_redirect_document_is_not_a_return(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-16-1"))
    nova_poshta_api.set_status(made.number, 104, LastCreatedOnTheBasisNumber="20450999999999",
                               LastCreatedOnTheBasisDocumentType="Redirecting")
    assert carrier.track([TrackedParcel(made.number, "380671112233")])[0].return_number is None


def test_tracking_without_the_phone_gives_the_reduced_answer(nova_poshta_api, carrier):
    made = carrier.create_waybill(request(key="demo-PROM-17-1", cod=Decimal("300")))
    status = carrier.track([TrackedParcel(made.number)])[0]
    assert status.code == "1" and status.cod_amount is None and "PhoneRecipient" not in status.raw
    assert status.at.tzinfo is not None


# -- errors -----------------------------------------------------------------------------------------


def test_a_wrong_key_is_rejected_and_never_shown(nova_poshta_api, caplog):
    wrong = "np-wrong-key-0123456789abcdef"
    carrier = nova_poshta.connect(connection_to(nova_poshta_api, password=wrong), SETTINGS, FAST)
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteRejected) as refused:
        carrier.track([TrackedParcel("20450000000001", "380671112233")])
    assert refused.value.code == "20000100002" and "auth" in str(refused.value)
    assert wrong not in str(refused.value) and wrong not in caplog.text
    assert len(nova_poshta_api.logged("POST")) == 1


@pytest.mark.parametrize("kind", ["500", "502", "timeout", "drop", "success_false"])
def test_transient_failures_are_retried(nova_poshta_api, kind):
    carrier = nova_poshta.connect(connection_to(nova_poshta_api, timeout=0.5), SETTINGS, FAST)
    nova_poshta_api.fail_next(kind, delay=1.0)
    statuses = carrier.track([TrackedParcel("20450000000001", "380671112233")])
    assert [s.code for s in statuses] == ["3"] and len(nova_poshta_api.logged("POST")) == 2


@pytest.mark.parametrize("kind", ["500", "timeout", "success_false"])
def test_failures_past_the_attempts_are_remote_errors_without_the_key(nova_poshta_api, kind, caplog):
    carrier = nova_poshta.connect(connection_to(nova_poshta_api, timeout=0.5), SETTINGS, FAST)
    nova_poshta_api.fail_next(kind, count=3, delay=1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteError) as failed:
        carrier.cities().__next__()
    assert not isinstance(failed.value, RemoteRejected) and "Address.getCities" in str(failed.value)
    assert API_KEY not in str(failed.value) and API_KEY not in caplog.text
    assert len(nova_poshta_api.logged("POST")) == 3


def test_an_error_echoing_the_key_is_scrubbed(nova_poshta_api, carrier):
    nova_poshta_api.api_key = "another"
    nova_poshta_api.auth_error = "API key {key} is not valid"         # the refusal quotes the key it got
    with pytest.raises(RemoteRejected) as refused:
        carrier.track([TrackedParcel("20450000000001")])
    assert API_KEY not in str(refused.value) and "API key *** is not valid" in str(refused.value)


def test_connect_needs_the_key():
    with pytest.raises(RemoteRejected, match="API key as its password"):
        nova_poshta.connect(ConnectionInfo(conn_id="np", host="api.novaposhta.ua"), SETTINGS)


# -- directory --------------------------------------------------------------------------------------


def test_cities_come_page_by_page(nova_poshta_api, carrier):
    carrier.page_size = 2
    cities = list(carrier.cities())
    pages = [r.json["methodProperties"] for r in nova_poshta_api.logged("POST")]
    assert pages == [{"Page": str(n), "Limit": "2"} for n in (1, 2, 3)]
    assert [c.name for c in cities] == ["Київ", "Львів", "Одеса", "Біла Церква", "Петрівка", "Петрівка"]
    petrivka = {c.ref: c.area for c in cities if c.name == "Петрівка"}
    assert petrivka == {PETRIVKA_KYIV_REF: "Київська", PETRIVKA_ODESA_REF: "Одеська"}
    kyiv = cities[0]
    assert (kyiv.ref, kyiv.name_ru, kyiv.kind) == (KYIV_REF, "Киев", "місто")
    assert LVIV_REF in {c.ref for c in cities}


def test_branches_come_page_by_page_with_kind_number_and_limits(nova_poshta_api, carrier):
    carrier.page_size = 4
    branches = {b.ref: b for b in carrier.branches()}
    assert len(branches) == 6 and len(nova_poshta_api.logged("POST")) == 2
    branch_33 = branches[KYIV_BRANCH_33_REF]
    assert (branch_33.number, branch_33.kind, branch_33.city_ref, branch_33.max_weight_kg, branch_33.postcode) == \
        ("33", "branch", KYIV_REF, Decimal(30), "01001")
    assert branch_33.description.startswith("Відділення №33 (до 30 кг)")
    assert branches[KYIV_POSTOMAT_REF].kind == "postomat" and branches[KYIV_POSTOMAT_REF].number == "5012"
    assert {b.kind for b in branches.values()} == {"branch", "postomat", "cargo"}


def test_paging_stops_when_the_server_ignores_it(nova_poshta_api, carrier):
    carrier.page_size = 2
    nova_poshta_api.cities = nova_poshta_api.cities[:4]
    original = nova_poshta_api._cities
    nova_poshta_api._cities = lambda props: original({})          # every page: the whole list
    cities = list(carrier.cities())
    assert len(cities) == 4 and len(nova_poshta_api.logged("POST")) == 1


def test_open_carrier_connects_from_the_shop_settings(nova_poshta_api, monkeypatch):
    from shopsync.carriers.connect import open_carrier

    host, port = nova_poshta_api.base_url.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_NOVA_POSHTA_DEMO", json.dumps(
        {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": API_KEY}))
    carrier = open_carrier(SETTINGS, FAST)
    assert isinstance(carrier, nova_poshta.NovaPoshta) and carrier.kind == "nova_poshta"
    made = carrier.create_waybill(request(key="demo-PROM-18-1"))
    assert made.number == nova_poshta_api.documents()[0]["IntDocNumber"]
    assert API_KEY not in repr(carrier)


def test_an_item_without_any_time_is_dated_the_start_of_today(carrier):
    carrier.today = lambda: date(2026, 12, 7)
    status = carrier.track([TrackedParcel("20450999999999", "380671112233")])[0]
    assert (status.code, status.at) == ("3", datetime(2026, 12, 7, tzinfo=KYIV))


def test_a_page_repeated_by_the_server_is_an_error_not_a_short_directory(nova_poshta_api, carrier):
    carrier.page_size = 2
    original = nova_poshta_api._cities
    nova_poshta_api._cities = lambda props: original({**props, "Page": "1"})     # always the first page
    with pytest.raises(RemoteError, match="page 2 repeats"):
        list(carrier.cities())
