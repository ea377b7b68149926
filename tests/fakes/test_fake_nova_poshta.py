"""Contract tests of the fake Nova Poshta API 2.0: the envelope, save/list/delete, tracking quirks, directory,
control endpoints and the state file of a fake run as its own process."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
import requests
from fake_channels import start_fake_process
from fake_nova_poshta import (
    API_KEY,
    COD_REFUSED_CODE,
    KYIV_BRANCH_33_REF,
    KYIV_POSTOMAT_REF,
    KYIV_REF,
    LVIV_REF,
    ODESA_REF,
    SENDER,
    FakeNovaPoshta,
)

ENVELOPE_KEYS = {"success", "data", "errors", "warnings", "info", "messageCodes", "errorCodes", "warningCodes",
                 "infoCodes"}
PHONE = "380671112233"


def call(server: FakeNovaPoshta | str, model: str, method: str, key: str = API_KEY,
         **properties: Any) -> requests.Response:
    base = server if isinstance(server, str) else server.base_url
    body = {"apiKey": key, "modelName": model, "calledMethod": method, "methodProperties": properties}
    return requests.post(f"{base}/v2.0/json/", json=body, timeout=5)


def document(**changes: Any) -> dict[str, Any]:
    fields = {"PayerType": "Recipient", "PaymentMethod": "Cash", "DateTime": "07.12.2026", "CargoType": "Parcel",
              "Weight": "1", "SeatsAmount": "1", "ServiceType": "WarehouseWarehouse", "Description": "Товари",
              "Cost": "500", **SENDER, "CityRecipient": KYIV_REF, "RecipientAddress": KYIV_BRANCH_33_REF,
              "RecipientName": "Шевченко Тарас", "RecipientType": "PrivatePerson", "RecipientsPhone": PHONE,
              "InfoRegClientBarcodes": "demo-PROM-1-1"}
    return {key: value for key, value in {**fields, **changes}.items() if value is not None}


def save(server: FakeNovaPoshta | str, **changes: Any) -> dict[str, Any]:
    return call(server, "InternetDocument", "save", **document(**changes)).json()


def track(server: FakeNovaPoshta, *numbers: str, phone: str | None = PHONE) -> dict[str, Any]:
    documents = [{"DocumentNumber": n, "Phone": phone or ""} for n in numbers]
    return call(server, "TrackingDocument", "getStatusDocuments", Documents=documents).json()


def test_every_answer_is_http_200_with_the_whole_envelope(nova_poshta_api):
    for answer in (call(nova_poshta_api, "Address", "getCities"), call(nova_poshta_api, "Nope", "nothing"),
                   call(nova_poshta_api, "Address", "getCities", key="wrong")):
        assert answer.status_code == 200 and set(answer.json()) == ENVELOPE_KEYS


def test_a_wrong_key_is_success_false_with_a_string_code(nova_poshta_api):
    answer = call(nova_poshta_api, "InternetDocument", "save", key="wrong", **document()).json()
    assert answer["success"] is False and answer["data"] == [] and answer["errors"] == ["API auth fail"]
    assert answer["errorCodes"] == ["20000100002"] and nova_poshta_api.documents() == []


def test_save_answers_the_documented_shape(nova_poshta_api):
    first, second = save(nova_poshta_api), save(nova_poshta_api, InfoRegClientBarcodes="demo-PROM-2-2")
    data = first["data"][0]
    assert first["success"] is True and set(data) == {"Ref", "CostOnSite", "EstimatedDeliveryDate", "IntDocNumber",
                                                      "TypeDocument"}
    assert re.fullmatch(r"20450\d{9}", data["IntDocNumber"]) and data["TypeDocument"] == "InternetDocument"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", data["EstimatedDeliveryDate"])
    assert {type(first["data"][0]["CostOnSite"]), type(second["data"][0]["CostOnSite"])} == {str, int}
    kept = nova_poshta_api.documents()
    assert [d["client_key"] for d in kept] == ["demo-PROM-1-1", "demo-PROM-2-2"]
    assert kept[0]["fields"]["RecipientAddress"] == KYIV_BRANCH_33_REF


@pytest.mark.parametrize(("changes", "error"), [
    ({"RecipientsPhone": None}, "RecipientsPhone is empty"),
    ({"RecipientName": None}, "RecipientName is empty"),
    ({"RecipientsPhone": "0671112233"}, "RecipientsPhone is invalid"),
    ({"CityRecipient": LVIV_REF}, "RecipientAddress is invalid"),
    ({"RecipientAddress": "00000000-0000-0000-0000-000000000000"}, "RecipientAddress is invalid"),
    ({"Weight": "31"}, "Weight exceeds the branch's limit"),
    ({"DateTime": "2026-12-07"}, "DateTime is invalid")])
def test_save_refuses_a_bad_document(nova_poshta_api, changes, error):
    answer = save(nova_poshta_api, **changes)
    assert answer["success"] is False and answer["errors"] == [error]
    assert all(isinstance(code, str) for code in answer["errorCodes"]) and nova_poshta_api.documents() == []


def test_classic_cod_is_refused_only_for_a_marked_sender(nova_poshta_api):
    money = [{"PayerType": "Recipient", "CargoType": "Money", "RedeliveryString": "500"}]
    assert save(nova_poshta_api, BackwardDeliveryData=money)["success"] is True
    nova_poshta_api.refuse_classic_cod(SENDER["Sender"])
    refused = save(nova_poshta_api, BackwardDeliveryData=money)
    assert refused["success"] is False and refused["errorCodes"] == [COD_REFUSED_CODE]
    assert save(nova_poshta_api, AfterpaymentOnGoodsCost="500")["success"] is True
    assert save(nova_poshta_api, Sender="another-sender", BackwardDeliveryData=money)["success"] is True


def test_get_document_list_filters_by_ship_date_and_echoes_our_key(nova_poshta_api):
    save(nova_poshta_api, DateTime="06.12.2026", InfoRegClientBarcodes="a")
    save(nova_poshta_api, DateTime="07.12.2026", InfoRegClientBarcodes="b")
    save(nova_poshta_api, DateTime="09.12.2026", InfoRegClientBarcodes="c")
    listed = call(nova_poshta_api, "InternetDocument", "getDocumentList", DateTimeFrom="06.12.2026",
                  DateTimeTo="08.12.2026", GetFullList="1").json()
    assert [d["InfoRegClientBarcodes"] for d in listed["data"]] == ["a", "b"]
    assert listed["data"][0]["DateTime"] == "2026-12-06 00:00:00" and isinstance(listed["data"][0]["CostOnSite"], str)
    assert call(nova_poshta_api, "InternetDocument", "getDocumentList", DateTimeFrom="x",
                DateTimeTo="08.12.2026").json()["success"] is False


def test_delete_only_a_document_not_handed_over(nova_poshta_api):
    first, second = save(nova_poshta_api)["data"][0], save(nova_poshta_api)["data"][0]
    nova_poshta_api.set_status(second["IntDocNumber"], 4)
    deleted = call(nova_poshta_api, "InternetDocument", "delete", DocumentRefs=[first["Ref"]]).json()
    assert deleted["success"] is True and deleted["data"] == [{"Ref": first["Ref"]}]
    again = call(nova_poshta_api, "InternetDocument", "delete", DocumentRefs=[first["Ref"]]).json()
    assert again["success"] is False and again["errorCodes"] == ["20001401442"]
    moving = call(nova_poshta_api, "InternetDocument", "delete", DocumentRefs=[second["Ref"]]).json()
    assert moving["success"] is False and "can not be deleted" in moving["errors"][0]
    assert track(nova_poshta_api, first["IntDocNumber"])["data"][0]["StatusCode"] == "2"


def test_tracking_item_has_string_codes_four_date_formats_and_mixed_numbers(nova_poshta_api):
    money = [{"PayerType": "Recipient", "CargoType": "Money", "RedeliveryString": "500"}]
    numbers = [save(nova_poshta_api, BackwardDeliveryData=money)["data"][0]["IntDocNumber"] for _ in range(2)]
    nova_poshta_api.set_status(numbers[0], 9)
    items = track(nova_poshta_api, *numbers)["data"]
    assert [i["StatusCode"] for i in items] == ["9", "1"]
    item = items[0]
    assert datetime.strptime(item["DateCreated"], "%d-%m-%Y %H:%M:%S")
    assert datetime.strptime(item["RecipientDateTime"], "%d.%m.%Y %H:%M:%S")
    assert datetime.strptime(item["TrackingUpdateDate"], "%Y-%m-%d %H:%M:%S")
    assert datetime.strptime(item["ScheduledDeliveryDate"], "%d.%m.%Y")
    assert isinstance(item["DocumentCost"], str) and isinstance(item["AnnouncedPrice"], int)
    assert {type(i["RedeliverySum"]) for i in items} == {str, int} and items[0]["Redelivery"] == 1


def test_more_than_100_documents_are_refused(nova_poshta_api):
    assert track(nova_poshta_api, *[f"2045000000{n:04d}" for n in range(100)])["success"] is True
    refused = track(nova_poshta_api, *[f"2045000000{n:04d}" for n in range(101)])
    assert refused["success"] is False and refused["data"] == [] and refused["errorCodes"] == ["20000900746"]


def test_without_the_phone_the_item_is_reduced_with_a_warning(nova_poshta_api):
    number = save(nova_poshta_api)["data"][0]["IntDocNumber"]
    full, reduced = track(nova_poshta_api, number), track(nova_poshta_api, number, phone=None)
    assert full["warnings"] == [] and "RecipientFullName" in full["data"][0]
    assert reduced["success"] is True and reduced["warnings"] and reduced["warningCodes"]
    assert "RecipientFullName" not in reduced["data"][0] and "RedeliverySum" not in reduced["data"][0]
    assert reduced["data"][0]["StatusCode"] == "1"
    assert track(nova_poshta_api, number, phone="380999999999")["warnings"]            # a wrong phone too


def test_an_unknown_number_is_status_3_and_code_80_can_be_set(nova_poshta_api):
    assert track(nova_poshta_api, "20450999999999")["data"] == [
        {"Number": "20450999999999", "StatusCode": "3", "Status": "Номер не знайдено"}]
    number = save(nova_poshta_api)["data"][0]["IntDocNumber"]
    nova_poshta_api.set_status(number, 80)
    assert track(nova_poshta_api, number)["data"][0]["StatusCode"] == "80"


def test_cod_paid_sets_the_payout_fields(nova_poshta_api):
    number = save(nova_poshta_api, AfterpaymentOnGoodsCost="750")["data"][0]["IntDocNumber"]
    moved = nova_poshta_api.set_status(number, 11)
    item = track(nova_poshta_api, number)["data"][0]
    assert item == moved["tracking"]
    assert item["StatusCode"] == "11" and item["LastTransactionStatusGM"] == "Виплачено"
    assert item["LastAmountTransferGM"] == "750" and item["RecipientDateTime"]


def test_a_refusal_can_create_the_return_document(nova_poshta_api):
    number = save(nova_poshta_api)["data"][0]["IntDocNumber"]
    moved = nova_poshta_api.set_status(number, 102, create_return=True, UndeliveryReasons="Відмова")
    back = moved["return"]
    item = track(nova_poshta_api, number)["data"][0]
    assert item["LastCreatedOnTheBasisNumber"] == back["IntDocNumber"] != number
    assert item["LastCreatedOnTheBasisDocumentType"] == "Return" and item["UndeliveryReasons"] == "Відмова"
    assert back["return_of"] == number and back["fields"]["RecipientAddress"] == SENDER["SenderAddress"]
    assert track(nova_poshta_api, back["IntDocNumber"], phone=SENDER["SendersPhone"])["data"][0]["StatusCode"] == "1"


def test_directory_seed_and_paging(nova_poshta_api):
    cities = call(nova_poshta_api, "Address", "getCities").json()
    names = [c["Description"] for c in cities["data"]]
    assert {"Київ", "Львів", "Одеса"} <= set(names) and names.count("Петрівка") == 2
    assert len({c["AreaDescription"] for c in cities["data"] if c["Description"] == "Петрівка"}) == 2
    assert cities["info"] == {"totalCount": len(names)}
    page = call(nova_poshta_api, "Address", "getCities", Page="2", Limit="2").json()["data"]
    assert [c["Description"] for c in page] == names[2:4]
    kyiv = call(nova_poshta_api, "Address", "getWarehouses", CityRef=KYIV_REF).json()["data"]
    descriptions = {w["Ref"]: w["Description"] for w in kyiv}
    assert descriptions[KYIV_BRANCH_33_REF].startswith("Відділення №33 (до 30 кг): вул. ")
    assert {w["CategoryOfWarehouse"] for w in kyiv} == {"Branch", "Postomat"} and KYIV_POSTOMAT_REF in descriptions
    assert call(nova_poshta_api, "Address", "getWarehouses", CityRef=ODESA_REF, Page=1, Limit=1).json()["data"]


def test_faults_and_a_processed_timeout(nova_poshta_api):
    nova_poshta_api.fail_next("success_false")
    busy = call(nova_poshta_api, "Address", "getCities")
    assert busy.status_code == 200 and busy.json()["success"] is False and "try again" in busy.json()["errors"][0]
    nova_poshta_api.fail_next("timeout", processed=True, delay=1.0)
    with pytest.raises(requests.Timeout):
        requests.post(f"{nova_poshta_api.base_url}/v2.0/json/", timeout=0.3, json={
            "apiKey": API_KEY, "modelName": "InternetDocument", "calledMethod": "save",
            "methodProperties": document()})
    assert len(nova_poshta_api.documents()) == 1          # done, though the client never heard


def test_state_survives_a_restart_on_its_state_file(tmp_path):
    state_file = tmp_path / "np.json"
    first = FakeNovaPoshta(state_file).start()
    try:
        number = save(first)["data"][0]["IntDocNumber"]
        first.set_status(number, 7)
        first.refuse_classic_cod("x")
    finally:
        first.stop()
    second = FakeNovaPoshta(state_file)
    second.load()
    second.start()
    try:
        assert second.document(number)["tracking"]["StatusCode"] == "7" and second.cod_refused_senders == {"x"}
        assert save(second)["data"][0]["IntDocNumber"] != number
    finally:
        second.stop()


def test_as_its_own_process_with_control_endpoints(tmp_path):
    fake = start_fake_process("nova_poshta", tmp_path / "np-state.json")
    try:
        number = save(fake.base_url)["data"][0]["IntDocNumber"]
        moved = requests.post(f"{fake.base_url}/_fake/status", timeout=5, json={
            "number": number, "code": "103", "create_return": True, "UndeliveryReasons": "Відмова"}).json()
        assert moved["tracking"]["StatusCode"] == "103" and moved["return"]["IntDocNumber"]
        requests.post(f"{fake.base_url}/_fake/classic_cod_refused", json={"sender": SENDER["Sender"]}, timeout=5)
        state = requests.get(f"{fake.base_url}/_fake/state", timeout=5).json()
        assert [d["IntDocNumber"] for d in state["documents"]][0] == number and len(state["documents"]) == 2
        assert state["cod_refused_senders"] == [SENDER["Sender"]]
        assert fake.state()["documents"][0]["tracking"]["UndeliveryReasons"] == "Відмова"
    finally:
        fake.stop()
