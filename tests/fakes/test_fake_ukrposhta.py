"""Contract tests of the fake Ukrposhta API: auth (bearer + ?token=), addresses, clients, shipments with
externalId and their lookup, delete, status tracking, errors {"message", "code"}, faults, the process mode."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fake_ukrposhta import BEARER, COUNTERPARTY_TOKEN, ECOM, SENDER_UUID, TRACKING, TRACKING_BEARER, FakeUkrposhta

AUTH = {"Authorization": f"Bearer {BEARER}"}
TOKEN = {"token": COUNTERPARTY_TOKEN}


def ecom(server: FakeUkrposhta, method: str, path: str, body: Any = None, token: bool = True,
         headers: dict[str, str] | None = None) -> requests.Response:
    return requests.request(method, f"{server.base_url}{ECOM}{path}", json=body, params=TOKEN if token else None,
                            headers=AUTH if headers is None else headers, timeout=5)


def recipient(server: FakeUkrposhta, middle: str | None = "Петрівна") -> str:
    address = ecom(server, "POST", "/addresses", {"postcode": "79000", "city": "Львів"}, token=False).json()
    body = {"type": "INDIVIDUAL", "lastName": "Коваль", "firstName": "Олена", "phoneNumber": "380671112233",
            "addresses": [{"addressId": address["id"]}]}
    if middle:
        body["middleName"] = middle
    answer = ecom(server, "POST", "/clients", body)
    assert answer.status_code == 200, answer.text
    return answer.json()["uuid"]


def shipment_body(recipient_uuid: str, **fields: Any) -> dict[str, Any]:
    return {"sender": {"uuid": SENDER_UUID}, "recipient": {"uuid": recipient_uuid}, "type": "STANDARD",
            "deliveryType": "W2W", "parcels": [{"weight": 1500, "length": 30, "width": 20, "height": 10,
                                                "declaredPrice": 500}],
            "paidByRecipient": True, "externalId": "demo-PROM-1-1", **fields}


def test_an_address_then_a_client_then_a_shipment_with_our_external_id(ukrposhta_api: FakeUkrposhta) -> None:
    created = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(recipient(ukrposhta_api), postPay=400))

    assert created.status_code == 200, created.text
    shipment = created.json()
    assert len(shipment["barcode"]) == 13 and shipment["barcode"].isdigit()
    assert shipment["externalId"] == "demo-PROM-1-1" and shipment["postPay"] == 400
    assert shipment["lifecycle"]["status"] == "CREATED" and shipment["deliveryPrice"] > 0
    assert shipment["parcels"][0]["weight"] == 1500
    assert [s["uuid"] for s in ukrposhta_api.shipments()] == [shipment["uuid"]]


def test_a_shipment_is_found_by_uuid_barcode_and_external_id(ukrposhta_api: FakeUkrposhta) -> None:
    made = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(recipient(ukrposhta_api))).json()

    assert ecom(ukrposhta_api, "GET", f"/shipments/{made['uuid']}").json()["barcode"] == made["barcode"]
    assert ecom(ukrposhta_api, "GET", f"/shipments/barcode/{made['barcode']}").json()["uuid"] == made["uuid"]
    found = ecom(ukrposhta_api, "GET", "/shipments/external-id/demo-PROM-1-1").json()
    assert [s["uuid"] for s in found] == [made["uuid"]]
    assert ecom(ukrposhta_api, "GET", "/shipments/external-id/demo-PROM-2-2").json() == []


@pytest.mark.parametrize(("headers", "token", "status"), [({}, True, 401),
                                                          ({"Authorization": "Bearer wrong"}, True, 401),
                                                          (AUTH, False, 403)])
def test_ecom_needs_the_bearer_and_the_counterparty_token(ukrposhta_api: FakeUkrposhta, headers: dict[str, str],
                                                          token: bool, status: int) -> None:
    answer = ecom(ukrposhta_api, "GET", "/shipments/barcode/0500000000001", token=token, headers=headers)

    assert answer.status_code == status
    assert set(answer.json()) == {"message", "code"} and answer.json()["code"].startswith("UPE05")
    assert COUNTERPARTY_TOKEN not in answer.text and BEARER not in answer.text


def test_an_address_needs_no_token_but_a_five_digit_postcode(ukrposhta_api: FakeUkrposhta) -> None:
    assert ecom(ukrposhta_api, "POST", "/addresses", {"postcode": "01001"}, token=False).status_code == 200
    bad = ecom(ukrposhta_api, "POST", "/addresses", {"postcode": "1001"}, token=False)
    assert bad.status_code == 400 and "postcode" in bad.json()["message"] and bad.json()["code"] == "UPE01001"


@pytest.mark.parametrize(("fields", "words"), [
    ({"parcels": [{"weight": 1.5, "length": 30, "width": 20, "height": 10}]}, "weight must be a positive integer"),
    ({"parcels": [{"weight": 31000, "length": 30, "width": 20, "height": 10}]}, "30000 grams"),
    ({"postPay": 900}, "cannot exceed the declared price"),
    ({"deliveryType": "X2Y"}, "deliveryType"),
])
def test_a_shipment_the_rules_refuse_is_a_400_with_a_message(ukrposhta_api: FakeUkrposhta, fields: dict[str, Any],
                                                             words: str) -> None:
    answer = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(recipient(ukrposhta_api), **fields))

    assert answer.status_code == 400 and words in answer.json()["message"]
    assert ukrposhta_api.shipments() == []


def test_cash_on_delivery_needs_the_recipients_middle_name(ukrposhta_api: FakeUkrposhta) -> None:
    uuid = recipient(ukrposhta_api, middle=None)

    refused = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(uuid, postPay=100))
    assert refused.status_code == 400 and "middleName" in refused.json()["message"]
    assert ecom(ukrposhta_api, "POST", "/shipments", shipment_body(uuid)).status_code == 200   # no COD: fine


def test_only_a_created_shipment_can_be_deleted(ukrposhta_api: FakeUkrposhta) -> None:
    uuid = recipient(ukrposhta_api)
    first = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(uuid)).json()
    second = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(uuid, externalId="demo-PROM-2-2")).json()
    ukrposhta_api.set_event(second["barcode"], 10100, "Прийнято")

    assert ecom(ukrposhta_api, "DELETE", f"/shipments/{first['uuid']}").status_code == 200
    assert ecom(ukrposhta_api, "GET", f"/shipments/{first['uuid']}").status_code == 404
    assert ecom(ukrposhta_api, "GET", "/shipments/external-id/demo-PROM-1-1").json() == []
    refused = ecom(ukrposhta_api, "DELETE", f"/shipments/{second['uuid']}")
    assert refused.status_code == 400 and "REGISTERED" in refused.json()["message"]
    assert [s["uuid"] for s in ukrposhta_api.shipments()] == [second["uuid"]]


def test_tracking_answers_the_last_event_with_its_own_bearer(ukrposhta_api: FakeUkrposhta) -> None:
    barcode = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(recipient(ukrposhta_api))).json()["barcode"]
    url = f"{ukrposhta_api.base_url}{TRACKING}/statuses/last"
    tracking = {"Authorization": f"Bearer {TRACKING_BEARER}"}

    unknown = requests.get(url, params={"barcode": barcode}, headers=tracking, timeout=5)
    assert unknown.status_code == 404 and "not found" in unknown.json()["message"]
    ukrposhta_api.set_event(barcode, 10100, "Прийнято", date="2026-12-05T09:10:00")
    ukrposhta_api.set_event(barcode, "41000", "Вручено", eventReason_id=10, eventReason="Повернуто відправнику")

    last = requests.get(url, params={"barcode": barcode, "lang": "UA"}, headers=tracking, timeout=5).json()
    assert last["event"] == "41000" and last["eventReason_id"] == 10 and last["barcode"] == barcode
    assert {"step", "date", "index", "name", "eventName", "country", "mailType", "indexOrder"} <= set(last)
    history = requests.get(f"{ukrposhta_api.base_url}{TRACKING}/statuses", params={"barcode": barcode},
                           headers=tracking, timeout=5).json()
    assert [e["event"] for e in history] == [10100, "41000"] and history[0]["date"] == "2026-12-05T09:10:00"
    assert requests.get(url, params={"barcode": barcode}, headers=AUTH, timeout=5).status_code == 401


def test_a_delivered_cod_shipment_opens_its_money_transfer(ukrposhta_api: FakeUkrposhta) -> None:
    made = ecom(ukrposhta_api, "POST", "/shipments", shipment_body(recipient(ukrposhta_api), postPay=400)).json()
    path = f"/transfers/shipment-postpays/{made['barcode']}/with-recipient"

    assert ecom(ukrposhta_api, "GET", path).status_code == 404
    ukrposhta_api.set_event(made["barcode"], 41000, "Вручено")
    opened = ecom(ukrposhta_api, "GET", path).json()
    assert (opened["sum"], opened["lastStatus"]) == (400, "DO")
    ukrposhta_api.set_postpay(made["barcode"], time="2026-12-10T10:00:00")
    paid = ecom(ukrposhta_api, "GET", path).json()
    assert (paid["lastStatus"], paid["lastStatusNameUa"], paid["lastStatusTime"]) == ("OP", "виплачений",
                                                                                   "2026-12-10T10:00:00")


def test_faults_answer_json_errors(ukrposhta_api: FakeUkrposhta) -> None:
    ukrposhta_api.fail_next("500", path=f"{ECOM}/addresses")

    answer = ecom(ukrposhta_api, "POST", "/addresses", {"postcode": "01001"}, token=False)
    assert answer.status_code == 500 and answer.json()["code"].startswith("UPE06")
    assert ecom(ukrposhta_api, "POST", "/addresses", {"postcode": "01001"}, token=False).status_code == 200


def test_a_processed_timeout_creates_the_shipment_but_loses_the_answer(ukrposhta_api: FakeUkrposhta) -> None:
    uuid = recipient(ukrposhta_api)
    ukrposhta_api.fail_next("timeout", path=f"{ECOM}/shipments", method="POST", delay=2, processed=True)

    with pytest.raises(requests.Timeout):
        requests.post(f"{ukrposhta_api.base_url}{ECOM}/shipments", json=shipment_body(uuid), params=TOKEN,
                      headers=AUTH, timeout=0.5)
    assert len(ukrposhta_api.shipments()) == 1


def test_as_a_process_events_come_through_the_control_endpoint(fake_process) -> None:
    process = fake_process("ukrposhta")
    base = process.base_url

    address = requests.post(f"{base}{ECOM}/addresses", json={"postcode": "01001"}, headers=AUTH, timeout=5).json()
    assert address["id"] > 0
    event = requests.post(f"{base}/_fake/events", json={"barcode": "0500000000001", "event": 21700,
                                                        "name": "Надійшло у відділення"}, timeout=5).json()
    assert event["event"] == 21700
    last = requests.get(f"{base}{TRACKING}/statuses/last", params={"barcode": "0500000000001"},
                        headers={"Authorization": f"Bearer {TRACKING_BEARER}"}, timeout=5).json()
    assert last["eventName"] == "Надійшло у відділення"
    state = process.state()
    assert state["events"]["0500000000001"][0]["event"] == 21700 and len(state["addresses"]) == 2
