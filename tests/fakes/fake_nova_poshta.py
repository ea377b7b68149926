"""A fake Nova Poshta API 2.0 (reference section 1) for the carrier adapter: `FakeNovaPoshta().start()`, or
`python tests/fakes/fake_nova_poshta.py --port 0 --state-file X` as its own process (prints its base URL).

Reproduced as documented: one endpoint `POST /v2.0/json/` with {"apiKey", "modelName", "calledMethod",
"methodProperties"}; every answer HTTP 200 with {"success", "data", "errors", "warnings", "info",
"messageCodes", "errorCodes", "warningCodes", "infoCodes"} (a refusal is `success: false`, codes are strings);
InternetDocument.save / getDocumentList / delete, TrackingDocument.getStatusDocuments (at most 100 documents,
more is refused; without the recipient's phone a reduced item and a warning), Address.getCities /
Address.getWarehouses (Page, Limit); the save answer {Ref, CostOnSite, EstimatedDeliveryDate, IntDocNumber
(14 digits), TypeDocument}; tracking items with StatusCode as a string, the four date formats
(DateCreated "06-04-2023 08:20:34", RecipientDateTime "07.04.2023 13:35:58", TrackingUpdateDate
"2023-04-07 11:36:10", ScheduledDeliveryDate "07.04.2023"), numbers sometimes strings; classic COD
(BackwardDeliveryData Money) refused with errorCode 20000204637 for a sender `refuse_classic_cod` marks.
Inferred (no source confirmed them): the error texts and the other error codes (ERRORS below); the
"busy" answer of `fail_next("success_false")`; that the apiKey is checked before anything else; that
getDocumentList filters by the document's DateTime (the ship date, inclusive) and echoes
InfoRegClientBarcodes; that delete refuses a document already handed over; the return document's fields
(LastCreatedOnTheBasisDocumentType "Return"); the cash-on-delivery payout fields (LastTransactionStatusGM ...);
that a status "80" appears only when a test sets it (the reference saw it for numbers that no longer resolve).

Control: `set_status(number, code, **fields)`, `documents()`, `refuse_classic_cod(sender_ref)`, the seeded
directory (CITIES, WAREHOUSES, refs as constants); for a separate process `POST /_fake/status`
{number, code, create_return?, fields?}, `POST /_fake/classic_cod_refused` {sender}, `GET /_fake/state`.
"""

from __future__ import annotations

import copy
import itertools
import sys
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import FakeServer, json_response, read_json, serve_main

API_KEY = "np-fake-4f1c9a2e7b3d45e8a0c6d1f2b9e8a7c3"   # distinctive, so a leak into logs or messages is easy to find
NUMBER_PREFIX = "20450"
MAX_TRACKED = 100
WAREHOUSE_PAGE_DEFAULT, CITY_PAGE_DEFAULT = 500, 150

ERRORS = {   # inferred texts and codes, except COD_REFUSED (reference section 1)
    "auth": ("API auth fail", "20000100002"),
    "busy": ("Service temporarily unavailable, try again later", "20000000005"),
    "unknown_method": ("Method is not supported", "20000100043"),
    "too_many": ("Documents count must be 100 or less", "20000900746"),
    "required": ("{field} is empty", "20000200006"),
    "phone": ("RecipientsPhone is invalid", "20000202302"),
    "address": ("RecipientAddress is invalid", "20000200041"),
    "weight": ("Weight exceeds the branch's limit", "20000200230"),
    "cod_refused": ("BackwardDeliveryData Money is not available for this sender", "20000204637"),
    "not_found": ("Document number is not correct", "20001401442"),
    "not_deletable": ("Document can not be deleted: it is already in transit", "20001401443"),
    "date": ("DateTime is invalid", "20000200201"),
}
COD_REFUSED_CODE = ERRORS["cod_refused"][1]

STATUS_TEXTS = {
    "1": "Відправник самостійно створив цю накладну, але ще не надав до відправки", "2": "Видалено",
    "3": "Номер не знайдено", "4": "Відправлення у місті відправника", "41": "Відправлення у місті відправника",
    "5": "Відправлення прямує до міста отримувача", "6": "Відправлення у місті отримувача",
    "7": "Прибув на відділення", "8": "Прибув на відділення (завантажено в Поштомат)",
    "9": "Відправлення отримано", "10": "Відправлення отримано. Грошовий переказ прямує до відправника",
    "11": "Відправлення отримано. Грошовий переказ видано одержувачу", "12": "Нова Пошта комплектує ваше відправлення",
    "101": "На шляху до одержувача", "102": "Відмова від отримання (Відправником створено замовлення на повернення)",
    "103": "Відмова одержувача", "104": "Змінено адресу", "105": "Припинено зберігання",
    "106": "Одержано і створено ЄН зворотньої доставки", "111": "Невдала спроба доставки",
    "112": "Дата доставки перенесена Отримувачем", "80": "Статус невідомий",
}
RECEIVED = {"9", "10", "11", "106"}
REQUIRED = ("PayerType", "PaymentMethod", "DateTime", "CargoType", "Weight", "SeatsAmount", "ServiceType",
            "Description", "Cost", "CitySender", "Sender", "SenderAddress", "ContactSender", "SendersPhone",
            "CityRecipient", "RecipientAddress", "RecipientsPhone")

# The seeded directory. Refs of Київ, Львів, Одеса are Nova Poshta's real ones; the others are made up.
KYIV_REF = "8d5a980d-391c-11dd-90d9-001a92567626"
LVIV_REF = "db5c88f5-391c-11dd-90d9-001a92567626"
ODESA_REF = "db5c88d0-391c-11dd-90d9-001a92567626"
PETRIVKA_KYIV_REF = "a1e3b5c7-0000-4000-8000-000000000101"
PETRIVKA_ODESA_REF = "a1e3b5c7-0000-4000-8000-000000000102"
BRANCH_TYPE = "841339c7-591a-42e2-8233-7a0a00f0ed6f"
CARGO_TYPE = "9a68df70-0267-42a8-bb5c-37f427e36ee4"
POSTOMAT_TYPE = "f9316480-5f2d-425d-bc2c-ac7cd29decf0"
KYIV_BRANCH_1_REF = "1ec09d88-e1c2-11e3-8c4a-0050568002cf"
KYIV_BRANCH_33_REF = "7b422fba-e1b8-11e3-8c4a-0050568002cf"
KYIV_POSTOMAT_REF = "b2c4d6e8-0000-4000-8000-000000005012"
LVIV_BRANCH_5_REF = "b2c4d6e8-0000-4000-8000-000000000005"
ODESA_CARGO_REF = "b2c4d6e8-0000-4000-8000-000000000021"
PETRIVKA_ODESA_BRANCH_REF = "b2c4d6e8-0000-4000-8000-000000000201"
SENDER = {"CitySender": KYIV_REF, "Sender": "5953fb16-08d8-11e4-8958-0025909b4e33",
          "SenderAddress": KYIV_BRANCH_1_REF, "ContactSender": "aee0f9a3-0a4a-11e4-8958-0025909b4e33",
          "SendersPhone": "380501234567"}


def _city(ref: str, name: str, name_ru: str, area: str, kind: str, city_id: int) -> dict[str, Any]:
    return {"Ref": ref, "Description": name, "DescriptionRu": name_ru, "Area": f"area-{area}",
            "AreaDescription": area, "SettlementTypeDescription": kind, "SettlementTypeDescriptionRu": kind,
            "CityID": str(city_id), "IsBranch": "0", "Delivery1": "1", "SpecialCashCheck": 1}


CITIES = [
    _city(KYIV_REF, "Київ", "Киев", "Київська", "місто", 4),
    _city(LVIV_REF, "Львів", "Львов", "Львівська", "місто", 5),
    _city(ODESA_REF, "Одеса", "Одесса", "Одеська", "місто", 6),
    _city("a1e3b5c7-0000-4000-8000-000000000104", "Біла Церква", "Белая Церковь", "Київська", "місто", 104),
    _city(PETRIVKA_KYIV_REF, "Петрівка", "Петровка", "Київська", "село", 10101),
    _city(PETRIVKA_ODESA_REF, "Петрівка", "Петровка", "Одеська", "село", 10102),
]


def _warehouse(ref: str, city_ref: str, number: str, description: str, short: str, kind: str, category: str,
               max_weight: Any, postcode: str) -> dict[str, Any]:
    city = next(c for c in CITIES if c["Ref"] == city_ref)
    return {"Ref": ref, "SiteKey": number, "Number": number, "Description": description,
            "DescriptionRu": description, "ShortAddress": short, "CityRef": city_ref,
            "CityDescription": city["Description"], "TypeOfWarehouse": kind, "CategoryOfWarehouse": category,
            "PlaceMaxWeightAllowed": max_weight, "TotalMaxWeightAllowed": 0, "PostalCodeUA": postcode,
            "WarehouseStatus": "Working"}


WAREHOUSES = [
    _warehouse(KYIV_BRANCH_1_REF, KYIV_REF, "1", "Відділення №1: вул. Пирогівський шлях, 135",
               "Київ, Пирогівський шлях, 135", CARGO_TYPE, "Branch", "1000", "03134"),
    _warehouse(KYIV_BRANCH_33_REF, KYIV_REF, "33", "Відділення №33 (до 30 кг): вул. Володимирська, 12",
               "Київ, Володимирська, 12", BRANCH_TYPE, "Branch", 30, "01001"),
    _warehouse(KYIV_POSTOMAT_REF, KYIV_REF, "5012", "Поштомат \"Нова Пошта\" №5012: вул. Хрещатик, 22 (АТБ)",
               "Київ, Хрещатик, 22", POSTOMAT_TYPE, "Postomat", "20", "01001"),
    _warehouse(LVIV_BRANCH_5_REF, LVIV_REF, "5", "Відділення №5 (до 30 кг): вул. Городоцька, 120",
               "Львів, Городоцька, 120", BRANCH_TYPE, "Branch", "30", "79000"),
    _warehouse(ODESA_CARGO_REF, ODESA_REF, "21", "Відділення №21 (до 1000 кг): вул. Балківська, 120",
               "Одеса, Балківська, 120", CARGO_TYPE, "Branch", 1000, "65000"),
    _warehouse(PETRIVKA_ODESA_BRANCH_REF, PETRIVKA_ODESA_REF, "1", "Пункт №1 (до 10 кг): вул. Шевченка, 3",
               "Петрівка, Шевченка, 3", BRANCH_TYPE, "Store", "10", "67652"),
]


class NpRefusal(Exception):
    """One refusal of the API: the message and its code go into errors/errorCodes of a success-false answer."""

    def __init__(self, kind: str, **fields: Any) -> None:
        text, code = ERRORS[kind]
        super().__init__(text.format(**fields))
        self.code = code


def envelope(data: list[Any], *, success: bool = True, errors: list[str] | None = None,
             error_codes: list[str] | None = None, warnings: list[Any] | None = None,
             warning_codes: list[str] | None = None, info: Any = None) -> dict[str, Any]:
    """Nova Poshta's answer, the same keys whatever happened."""
    return {"success": success, "data": data, "errors": errors or [], "warnings": warnings or [],
            "info": info if info is not None else [], "messageCodes": [], "errorCodes": error_codes or [],
            "warningCodes": warning_codes or [], "infoCodes": []}


def refusal_body(kind: str) -> dict[str, Any]:
    text, code = ERRORS[kind]
    return envelope([], success=False, errors=[text], error_codes=[code])


class FakeNovaPoshta(FakeServer):
    """Fake Nova Poshta API 2.0: waybills, tracking, the cities and branches directory."""

    name = "nova_poshta"

    def __init__(self, state_file: Path | str | None = None) -> None:
        super().__init__(state_file)
        self.api_key = API_KEY
        self.docs: dict[str, dict[str, Any]] = {}        # Ref -> the document as the fake keeps it
        self.cities = copy.deepcopy(CITIES)
        self.warehouses = copy.deepcopy(WAREHOUSES)
        self.cod_refused_senders: set[str] = set()
        self.auth_error = ERRORS["auth"][0]              # "{key}" in it: the refusal quotes the key it was given
        self._serial = itertools.count(1)

    # -- control -------------------------------------------------------------------------------------

    def documents(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every document created (in creation order), as the fake keeps it: Ref, IntDocNumber, client_key
        (InfoRegClientBarcodes), fields (what save got), ship_date, CostOnSite, EstimatedDeliveryDate, deleted,
        tracking (the full getStatusDocuments item), return_of (a return document: the original's number)."""
        with self.lock:
            return [copy.deepcopy(d) for d in self.docs.values() if include_deleted or not d["deleted"]]

    def document(self, number: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._by_number(number))

    def add_branch(self, ref: str, city_ref: str, number: str, description: str, max_weight_kg: int = 30,
                   postcode: str = "00000") -> None:
        """One more branch in the directory (the demo's buyers live near branches of their own)."""
        with self.lock:
            short = description.split(": ", 1)[-1]
            self.warehouses.append(_warehouse(ref, city_ref, number, description, short, BRANCH_TYPE, "Branch",
                                              str(max_weight_kg), postcode))
            self.save()

    def refuse_classic_cod(self, sender_ref: str = SENDER["Sender"]) -> None:
        """This sender may not send classic COD (BackwardDeliveryData Money): save answers 20000204637."""
        with self.lock:
            self.cod_refused_senders.add(sender_ref)
            self.save()

    def set_status(self, number: str, code: str | int, create_return: bool = False,
                   **fields: Any) -> dict[str, Any]:
        """Move a document to status `code` as Nova Poshta would, `fields` over the tracking item.

        A received status (9, 10, 11, 106) sets RecipientDateTime and ActualDeliveryDate; 11 also the COD
        payout fields. `create_return=True` (a refusal) creates the return document and writes its number in
        the original's LastCreatedOnTheBasisNumber. Returns the document (with "return" = the return
        document, if one was created)."""
        code = str(code)
        with self.lock:
            doc = self._by_number(number)
            now = self.now()
            track = doc["tracking"]
            if track["StatusCode"] != code:
                track["TrackingUpdateDate"] = now.strftime("%Y-%m-%d %H:%M:%S")
            track["StatusCode"], track["Status"] = code, STATUS_TEXTS.get(code, f"Статус {code}")
            if code in RECEIVED and not track["RecipientDateTime"]:
                track["RecipientDateTime"] = now.strftime("%d.%m.%Y %H:%M:%S")
                track["ActualDeliveryDate"] = now.strftime("%Y-%m-%d %H:%M:%S")
            if code == "11":
                self._cod_paid(track, now)
            result = copy.deepcopy(doc)
            if create_return:
                back = self._return_document(doc, now)
                result["return"] = copy.deepcopy(back)
            track.update(fields)
            result["tracking"] = copy.deepcopy(track)
            self.save()
            return result

    def _cod_paid(self, track: dict[str, Any], now: datetime) -> None:
        track["LastTransactionStatusGM"] = "Виплачено"
        track["LastTransactionDateTimeGM"] = now.strftime("%Y-%m-%d %H:%M:%S")
        amount = _number(track["RedeliverySum"]) or _number(track["AfterpaymentOnGoodsCost"]) or 0
        track["LastAmountTransferGM"] = _num_out(amount, as_string=True)
        track["PaymentStatus"] = "Оплачено"

    def _return_document(self, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The return waybill Nova Poshta creates on a refusal: the sender is now its recipient."""
        fields = doc["fields"]
        back_fields = {**fields, "CityRecipient": fields["CitySender"], "RecipientAddress": fields["SenderAddress"],
                       "RecipientsPhone": fields["SendersPhone"], "RecipientName": "",
                       "BackwardDeliveryData": [], "AfterpaymentOnGoodsCost": "", "InfoRegClientBarcodes": "",
                       "DateTime": now.strftime("%d.%m.%Y")}
        back = self._new_document(back_fields, now)
        back["return_of"] = doc["IntDocNumber"]
        track = doc["tracking"]
        track["LastCreatedOnTheBasisNumber"] = back["IntDocNumber"]
        track["LastCreatedOnTheBasisDocumentType"] = "Return"
        track["LastCreatedOnTheBasisPayerType"] = "Sender"
        track["LastCreatedOnTheBasisDateTime"] = now.strftime("%Y-%m-%d %H:%M:%S")
        return back

    def _by_number(self, number: str) -> dict[str, Any]:
        for doc in self.docs.values():
            if doc["IntDocNumber"] == str(number):
                return doc
        raise KeyError(f"no document {number}")

    # -- FakeServer ----------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return envelope([], success=False, errors=[message])

    def success_false_body(self) -> dict[str, Any]:
        return refusal_body("busy")

    def state_dict(self) -> dict[str, Any]:
        return {"documents": list(self.docs.values()), "cod_refused_senders": sorted(self.cod_refused_senders),
                "warehouses": self.warehouses}

    def load_state(self, state: dict[str, Any]) -> None:
        self.docs = {d["Ref"]: d for d in state.get("documents", [])}
        self.cod_refused_senders = set(state.get("cod_refused_senders", []))
        self.warehouses = state.get("warehouses") or self.warehouses
        self._serial = itertools.count(len(self.docs) + 1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v2.0/json/", self._endpoint), web.post("/v2.0/json", self._endpoint),
                web.post("/_fake/status", self._control_status),
                web.post("/_fake/classic_cod_refused", self._control_cod_refused)]

    def no_route(self, status: int, reason: str) -> web.Response:
        return json_response(envelope([], success=False, errors=[reason]), status=status)

    async def _control_status(self, request: web.Request) -> web.Response:
        body = dict(await request.json())
        number, code, create_return = body.pop("number"), body.pop("code"), bool(body.pop("create_return", False))
        fields = {**(body.pop("fields", None) or {}), **body}     # tracking fields nested or at the top level
        doc = self.set_status(number, code, create_return, **fields)
        return json_response(doc)

    async def _control_cod_refused(self, request: web.Request) -> web.Response:
        self.refuse_classic_cod((await request.json()).get("sender") or SENDER["Sender"])
        return json_response({"cod_refused_senders": sorted(self.cod_refused_senders)})

    # -- the endpoint --------------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or body.get("apiKey") != self.api_key:
            key = body.get("apiKey") if isinstance(body, dict) else None
            return json_response(envelope([], success=False, errors=[self.auth_error.format(key=key)],
                                          error_codes=[ERRORS["auth"][1]]))
        methods = {("InternetDocument", "save"): self._save, ("InternetDocument", "getDocumentList"): self._list,
                   ("InternetDocument", "delete"): self._delete,
                   ("TrackingDocument", "getStatusDocuments"): self._track,
                   ("Address", "getCities"): self._cities, ("Address", "getWarehouses"): self._warehouses,
                   ("AddressGeneral", "getWarehouses"): self._warehouses}
        method = methods.get((body.get("modelName"), body.get("calledMethod")))
        if method is None:
            return json_response(refusal_body("unknown_method"))
        props = body.get("methodProperties") or {}
        try:
            with self.lock:
                return json_response(method(props if isinstance(props, dict) else {}))
        except NpRefusal as refused:
            return json_response(envelope([], success=False, errors=[str(refused)], error_codes=[refused.code]))

    # -- InternetDocument ----------------------------------------------------------------------------

    def _save(self, props: dict[str, Any]) -> dict[str, Any]:
        fields = {key: value for key, value in props.items()}
        self._validate(fields)
        doc = self._new_document(fields, self.now())
        cost = str(doc["CostOnSite"]) if doc["serial"] % 2 else doc["CostOnSite"]     # "45" or 45
        answer = {"Ref": doc["Ref"], "CostOnSite": cost,
                  "EstimatedDeliveryDate": doc["EstimatedDeliveryDate"], "IntDocNumber": doc["IntDocNumber"],
                  "TypeDocument": "InternetDocument"}
        return envelope([answer])

    def _validate(self, fields: dict[str, Any]) -> None:
        for name in REQUIRED:
            if fields.get(name) in (None, "", []):
                raise NpRefusal("required", field=name)
        if not (fields.get("Recipient") or fields.get("RecipientName")):
            raise NpRefusal("required", field="RecipientName")
        if _ship_date(fields["DateTime"]) is None:
            raise NpRefusal("date")
        phone = str(fields["RecipientsPhone"])
        if not (phone.isdigit() and len(phone) == 12 and phone.startswith("380")):
            raise NpRefusal("phone")
        branch = next((w for w in self.warehouses if w["Ref"] == fields["RecipientAddress"]), None)
        if branch is None or branch["CityRef"] != fields["CityRecipient"]:
            raise NpRefusal("address")
        limit = _number(branch["PlaceMaxWeightAllowed"])
        if limit and (_number(fields["Weight"]) or 0) > limit:
            raise NpRefusal("weight")
        money = [d for d in fields.get("BackwardDeliveryData") or [] if isinstance(d, dict)
                 and d.get("CargoType") == "Money"]
        if money and fields["Sender"] in self.cod_refused_senders:
            raise NpRefusal("cod_refused")

    def _new_document(self, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        serial = next(self._serial)
        while any(d["IntDocNumber"] == f"{NUMBER_PREFIX}{serial:09d}" for d in self.docs.values()):
            serial = next(self._serial)
        number = f"{NUMBER_PREFIX}{serial:09d}"
        ship = _ship_date(fields["DateTime"]) or now.date()
        cost = _delivery_cost(fields)
        estimated = ship + timedelta(days=1 if fields.get("CityRecipient") == fields.get("CitySender") else 2)
        doc = {"Ref": str(uuid.uuid4()), "IntDocNumber": number, "serial": serial, "fields": fields,
               "client_key": fields.get("InfoRegClientBarcodes") or None,
               "ship_date": ship.isoformat(), "created_at": now.isoformat(), "CostOnSite": cost,
               "EstimatedDeliveryDate": estimated.strftime("%d.%m.%Y"), "deleted": False}
        doc["tracking"] = self._tracking_item(doc, now)
        self.docs[doc["Ref"]] = doc
        return doc

    def _tracking_item(self, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The full getStatusDocuments item; numbers written as numbers or strings by the document's serial
        (Nova Poshta mixes both)."""
        fields, odd = doc["fields"], doc["serial"] % 2 == 1
        money = next((d for d in fields.get("BackwardDeliveryData") or [] if isinstance(d, dict)
                      and d.get("CargoType") == "Money"), None)
        redelivery = _number(money.get("RedeliveryString")) if money else None
        afterpayment = _number(fields.get("AfterpaymentOnGoodsCost")) or 0
        branch = next((w for w in self.warehouses if w["Ref"] == fields.get("RecipientAddress")), {})
        city = next((c for c in self.cities if c["Ref"] == fields.get("CityRecipient")), {})
        estimated = datetime.strptime(doc["EstimatedDeliveryDate"], "%d.%m.%Y")
        return {
            "Number": doc["IntDocNumber"], "StatusCode": "1", "Status": STATUS_TEXTS["1"],
            "DateCreated": now.strftime("%d-%m-%Y %H:%M:%S"), "ScheduledDeliveryDate": estimated.strftime("%d.%m.%Y"),
            "RecipientDateTime": "", "TrackingUpdateDate": now.strftime("%Y-%m-%d %H:%M:%S"),
            "ActualDeliveryDate": "", "DocumentCost": str(doc["CostOnSite"]),
            "AnnouncedPrice": _num_out(_number(fields.get("Cost")) or 0, as_string=False),
            "DocumentWeight": _num_out(_number(fields.get("Weight")) or 0, as_string=odd),
            "PayerType": fields.get("PayerType"), "PaymentMethod": fields.get("PaymentMethod"),
            "CargoType": fields.get("CargoType"), "ServiceType": fields.get("ServiceType"),
            "Redelivery": 1 if redelivery else 0,
            "RedeliverySum": _num_out(redelivery or 0, as_string=odd), "RedeliveryNum": "",
            "RedeliveryPayer": "Recipient" if redelivery else "",
            "AfterpaymentOnGoodsCost": _num_out(afterpayment, as_string=not odd),
            "WarehouseRecipient": branch.get("Description", ""), "WarehouseRecipientRef": branch.get("Ref", ""),
            "WarehouseRecipientNumber": int(branch.get("Number") or 0), "CityRecipient": city.get("Description", ""),
            "CityRecipientRef": city.get("Ref", ""), "RecipientFullName": fields.get("RecipientName", ""),
            "PhoneRecipient": str(fields.get("RecipientsPhone", "")), "RefEW": doc["Ref"],
            "PaymentStatus": "", "UndeliveryReasons": "", "UndeliveryReasonsSubtypeDescription": "",
            "LastCreatedOnTheBasisNumber": "", "LastCreatedOnTheBasisDocumentType": "",
            "LastCreatedOnTheBasisPayerType": "", "LastCreatedOnTheBasisDateTime": "",
            "LastTransactionStatusGM": "", "LastTransactionDateTimeGM": "", "LastAmountTransferGM": "",
        }

    def _list(self, props: dict[str, Any]) -> dict[str, Any]:
        start, end = _ship_date(props.get("DateTimeFrom")), _ship_date(props.get("DateTimeTo"))
        if start is None or end is None:
            raise NpRefusal("date")
        found = [d for d in self.docs.values() if not d["deleted"]
                 and start <= date.fromisoformat(d["ship_date"]) <= end]
        if str(props.get("GetFullList", "0")) != "1":
            page = max(1, int(_number(props.get("Page")) or 1))
            found = found[(page - 1) * 100:page * 100]
        return envelope([self._listed(d) for d in found], info={"totalCount": len(found)})

    def _listed(self, doc: dict[str, Any]) -> dict[str, Any]:
        fields, track = doc["fields"], doc["tracking"]
        ship = date.fromisoformat(doc["ship_date"])
        estimated = datetime.strptime(doc["EstimatedDeliveryDate"], "%d.%m.%Y")
        return {"Ref": doc["Ref"], "IntDocNumber": doc["IntDocNumber"],
                "DateTime": ship.strftime("%Y-%m-%d 00:00:00"), "CreateTime": doc["created_at"][:19].replace("T", " "),
                "InfoRegClientBarcodes": fields.get("InfoRegClientBarcodes", ""),
                "CostOnSite": str(doc["CostOnSite"]), "Cost": str(fields.get("Cost")),
                "EstimatedDeliveryDate": estimated.strftime("%Y-%m-%d"),
                "StateId": int(track["StatusCode"]) if track["StatusCode"].isdigit() else track["StatusCode"],
                "StateName": track["Status"], "RecipientContactPhone": str(fields.get("RecipientsPhone", "")),
                "CityRecipient": fields.get("CityRecipient"), "RecipientAddress": fields.get("RecipientAddress"),
                "AfterpaymentOnGoodsCost": str(fields.get("AfterpaymentOnGoodsCost") or "0"),
                "BackwardDeliveryData": fields.get("BackwardDeliveryData") or []}

    def _delete(self, props: dict[str, Any]) -> dict[str, Any]:
        refs = props.get("DocumentRefs")
        refs = [refs] if isinstance(refs, str) else list(refs or [])
        docs = [self.docs.get(ref) for ref in refs]
        if not refs or any(doc is None or doc["deleted"] for doc in docs):
            raise NpRefusal("not_found")
        if any(doc["tracking"]["StatusCode"] != "1" for doc in docs if doc):
            raise NpRefusal("not_deletable")
        for doc in docs:
            assert doc is not None
            doc["deleted"] = True
            doc["tracking"].update(StatusCode="2", Status=STATUS_TEXTS["2"],
                                   TrackingUpdateDate=self.now().strftime("%Y-%m-%d %H:%M:%S"))
        return envelope([{"Ref": ref} for ref in refs])

    # -- TrackingDocument ----------------------------------------------------------------------------

    def _track(self, props: dict[str, Any]) -> dict[str, Any]:
        asked = [d for d in props.get("Documents") or [] if isinstance(d, dict)]
        if len(asked) > MAX_TRACKED:
            raise NpRefusal("too_many")
        data, warnings = [], []
        for item in asked:
            number, phone = str(item.get("DocumentNumber", "")), str(item.get("Phone") or "")
            doc = next((d for d in self.docs.values() if d["IntDocNumber"] == number), None)
            if doc is None:
                data.append({"Number": number, "StatusCode": "3", "Status": STATUS_TEXTS["3"]})
                continue
            full = _phone_matches(phone, doc)
            data.append(copy.deepcopy(doc["tracking"]) if full else _reduced(doc["tracking"]))
            if not full:
                warnings.append({number: "Для отримання повної інформації вкажіть номер телефону"})
        return envelope(data, warnings=warnings, warning_codes=["20000900840"] * bool(warnings))

    # -- Address -------------------------------------------------------------------------------------

    def _cities(self, props: dict[str, Any]) -> dict[str, Any]:
        found = [c for c in self.cities if not props.get("Ref") or c["Ref"] == props["Ref"]]
        if props.get("FindByString"):
            found = [c for c in found if str(props["FindByString"]).lower() in c["Description"].lower()]
        return _paged(found, props, CITY_PAGE_DEFAULT)

    def _warehouses(self, props: dict[str, Any]) -> dict[str, Any]:
        found = [w for w in self.warehouses if not props.get("CityRef") or w["CityRef"] == props["CityRef"]]
        return _paged(found, props, WAREHOUSE_PAGE_DEFAULT)


def _paged(items: list[dict[str, Any]], props: dict[str, Any], default_limit: int) -> dict[str, Any]:
    """Page/Limit as strings or numbers; no Page: the whole list (as Nova Poshta does for small lists)."""
    total = len(items)
    if props.get("Page") not in (None, ""):
        page = max(1, int(_number(props["Page"]) or 1))
        limit = max(1, int(_number(props.get("Limit")) or default_limit))
        items = items[(page - 1) * limit:page * limit]
    return envelope(copy.deepcopy(items), info={"totalCount": total})


def _reduced(track: dict[str, Any]) -> dict[str, Any]:
    """What Nova Poshta shows to someone who does not know the recipient's phone."""
    keys = ("Number", "StatusCode", "Status", "DateCreated", "ScheduledDeliveryDate", "WarehouseRecipient",
            "CityRecipient", "CargoType", "ServiceType", "DocumentWeight")
    return {key: track[key] for key in keys if key in track}


def _phone_matches(phone: str, doc: dict[str, Any]) -> bool:
    digits = "".join(c for c in phone if c.isdigit())
    known = {str(doc["fields"].get("RecipientsPhone", "")), str(doc["fields"].get("SendersPhone", ""))}
    return bool(digits) and any(k and (k.endswith(digits[-10:]) or digits.endswith(k[-10:])) for k in known)


def _ship_date(value: Any) -> date | None:
    """"dd.mm.yyyy" (optionally with a time, as getDocumentList accepts)."""
    text = str(value or "").strip()
    for pattern in ("%d.%m.%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _num_out(value: Decimal | int, as_string: bool) -> Any:
    """A number as Nova Poshta writes it: "1500" or 1500 (1500.5 / "1500.5" with a fraction)."""
    amount = Decimal(value).normalize()
    plain = format(amount, "f")
    if as_string:
        return plain
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _delivery_cost(fields: dict[str, Any]) -> int:
    weight = _number(fields.get("Weight")) or Decimal(1)
    declared = _number(fields.get("Cost")) or Decimal(0)
    return int(50 + 10 * int(weight) + declared * Decimal("0.005"))


if __name__ == "__main__":
    serve_main(FakeNovaPoshta, sys.argv[1:])
