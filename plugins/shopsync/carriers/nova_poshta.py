"""Nova Poshta API 2.0: waybills (ТТН) created, found again, tracked and deleted; the cities and branches directory.

Facts (reference channels-carriers.md, section 1): one endpoint `POST /v2.0/json/` with {"apiKey", "modelName",
"calledMethod", "methodProperties"}; every answer is HTTP 200 with {"success", "data", "errors", "errorCodes",
"warnings", ...}, so `success: false` is a failed call; codes are strings, numbers come as numbers or strings,
times in four formats (Kyiv local time); tracking takes at most 100 documents per call and answers in full
only with the recipient's phone; classic COD is refused to some senders with errorCode 20000204637.

Our choices (docs/decisions.md, "Nova Poshta adapter"): the recipient as a new private person at a branch
(CityRecipient + RecipientAddress refs from our directory, RecipientName, RecipientType, RecipientsPhone); our
client_key in InfoRegClientBarcodes, which getDocumentList echoes, so a run cut off after `save` finds its
document again; `save` is tried once (a retry after a lost answer would create a second document).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from shopsync.carriers.base import Branch, CarrierKind, City, TrackedParcel, TrackingStatus, Waybill, WaybillRequest
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.api_client import ApiClient, RemoteError, RemoteRejected, client_for
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

KYIV = ZoneInfo("Europe/Kyiv")                   # Nova Poshta writes local times without an offset
ENDPOINT = "/v2.0/json/"
TRACK_BATCH = 100                                # the API refuses more documents per call
PAGE_SIZE = 500
COD_REFUSED = "20000204637"                      # classic COD not allowed for this sender (inferred meaning)
# Answers that say "not now" rather than "no" (inferred: Nova Poshta words them so): retried like a 5xx.
BUSY_WORDS = ("temporarily", "try again", "busy", "timeout", "тимчасово", "спробуйте пізніше")
RECEIVED_PAID = "11"                             # received, COD money paid out to the sender
REFUSAL_CODES = frozenset({"102", "103", "105", "108"})
RETURN_TYPE_WORDS = ("return", "поверн")          # LastCreatedOnTheBasisDocumentType of a return document
POSTOMAT_TYPES = frozenset({"f9316480-5f2d-425d-bc2c-ac7cd29decf0", "95dc212d-479c-4ffb-a8ab-8c1b9073d0bc"})
CARGO_TYPES = frozenset({"9a68df70-0267-42a8-bb5c-37f427e36ee4"})
TIME_FORMATS = ("%d-%m-%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%dT%H:%M:%S")
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d-%m-%Y")


def check_answer(status: int, body: Any) -> None:
    """`success: false` (with HTTP 200) is a refusal, RemoteRejected with the first error code, unless the
    errors say the service is busy (RemoteError: the client tries again)."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return
    errors = [str(e) for e in _as_list(body.get("errors"))] or ["refused without a message"]
    codes = [str(c) for c in _as_list(body.get("errorCodes")) if c not in (None, "")]
    text = "; ".join(errors)
    if any(word in text.lower() for word in BUSY_WORDS):
        raise RemoteError(f"Nova Poshta is busy: {text}" + (f" (code {codes[0]})" if codes else ""))
    raise RemoteRejected(text + (f" (code {codes[0]})" if codes else ""), status=status,
                          code=codes[0] if codes else None)


@dataclass
class ApiKeyInBody:
    """Nova Poshta's key travels in the body, not a header; it is given to the client only to be scrubbed."""

    key: str = field(repr=False)

    @property
    def secrets(self) -> list[str]:
        return [self.key]

    def headers(self, client: ApiClient) -> dict[str, str]:
        return {}

    def renew(self, client: ApiClient) -> None:
        raise RemoteRejected(f"{client.name}: the API key was refused: check the connection's password")


def connect(connection: ConnectionInfo, settings: CarrierSettings, retry: RetryPolicy | None = None) -> NovaPoshta:
    """The API key is the connection's password; host `api.novaposhta.ua` (a test server stands in)."""
    if not connection.password:
        raise RemoteRejected(f"connection {connection.conn_id!r}: Nova Poshta needs the API key as its password")
    client = client_for(connection, "nova_poshta", ApiKeyInBody(connection.password), check_answer, retry)
    return NovaPoshta(client, settings)


@dataclass
class NovaPoshta:
    """Carrier and DirectorySource of one Nova Poshta account (one API key, one sender)."""

    client: ApiClient
    settings: CarrierSettings
    page_size: int = PAGE_SIZE
    track_batch: int = TRACK_BATCH
    today: Callable[[], date] = field(default=lambda: datetime.now(KYIV).date(), repr=False)
    kind: CarrierKind = "nova_poshta"

    # -- the one endpoint ----------------------------------------------------------------------------

    def call(self, model: str, method: str, properties: dict[str, Any], *, once: bool = False) -> dict[str, Any]:
        """The whole answer of one API method; `once`: no retry (a call that must not be repeated blindly)."""
        client = replace(self.client, retry=RetryPolicy(attempts=1)) if once else self.client
        body = {"apiKey": self.key, "modelName": model, "calledMethod": method, "methodProperties": properties}
        try:
            answer = client.call("POST", ENDPOINT, body=body)
        except (RemoteRejected, RemoteError) as error:
            error.args = (f"{error.args[0] if error.args else error} [{model}.{method}]",)
            raise
        if not isinstance(answer, dict):
            raise RemoteError(f"{self.client.name}: {model}.{method} answered something that is not an object")
        for warning in _as_list(answer.get("warnings"))[:3]:
            log.debug("%s: %s.%s warning: %s", self.client.name, model, method, warning)
        return answer

    @property
    def key(self) -> str:
        auth = self.client.auth
        assert isinstance(auth, ApiKeyInBody)
        return auth.key

    # -- Carrier -------------------------------------------------------------------------------------

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        """One InternetDocument.save, tried once; classic COD refused (20000204637) with cod_fallback: once more
        as payment control."""
        form = request.cod_form if _has_cod(request) else None
        try:
            return self._save(request, form)
        except RemoteRejected as refused:
            if not (refused.code == COD_REFUSED and form == "money_transfer" and request.cod_fallback):
                raise
            log.info("%s: classic COD refused for %s (code %s); sending it with payment control",
                     self.client.name, request.client_key, COD_REFUSED)
            return self._save(request, "payment_control")

    def _save(self, request: WaybillRequest, cod_form: str | None) -> Waybill:
        answer = self.call("InternetDocument", "save", self._document(request, cod_form), once=True)
        data = _first(answer)
        if not data.get("IntDocNumber") or not data.get("Ref"):
            raise RemoteError(f"{self.client.name}: InternetDocument.save answered without a number or ref")
        return Waybill(number=str(data["IntDocNumber"]), ref=str(data["Ref"]), cost=_decimal(data.get("CostOnSite")),
                       estimated_delivery=np_date(data.get("EstimatedDeliveryDate")), cod_form=cod_form,
                       client_key=request.client_key)

    def _document(self, request: WaybillRequest, cod_form: str | None) -> dict[str, Any]:
        recipient, parcel, sender = request.recipient, request.parcel, self.settings.sender
        if not recipient.city_ref or not recipient.branch_ref:
            raise RemoteRejected(f"{request.client_key}: the recipient has no Nova Poshta city and branch "
                                  f"(city {recipient.city_name!r}, branch {recipient.branch_number!r})")
        volume = Decimal(parcel.length_cm * parcel.width_cm * parcel.height_cm) / Decimal(1_000_000)
        seat = {"volumetricWidth": str(parcel.width_cm), "volumetricLength": str(parcel.length_cm),
                "volumetricHeight": str(parcel.height_cm), "weight": _amount(parcel.weight_kg / parcel.seats)}
        document = {
            "PayerType": request.payer, "PaymentMethod": "Cash", "DateTime": request.ship_date.strftime("%d.%m.%Y"),
            "CargoType": "Parcel", "Weight": _amount(parcel.weight_kg), "SeatsAmount": str(parcel.seats),
            "ServiceType": request.service_type, "Description": parcel.description,
            "Cost": _amount(max(parcel.declared_value, Decimal(1))), "VolumeGeneral": _amount(volume * parcel.seats),
            "OptionsSeat": [dict(seat) for _ in range(parcel.seats)],
            "CitySender": sender.city_ref, "Sender": sender.counterparty_ref, "SenderAddress": sender.address_ref,
            "ContactSender": sender.contact_ref, "SendersPhone": _phone(sender.phone),
            "CityRecipient": recipient.city_ref, "RecipientAddress": recipient.branch_ref,
            "RecipientName": recipient.name, "RecipientType": "PrivatePerson",
            "RecipientsPhone": _phone(recipient.phone), "InfoRegClientBarcodes": request.client_key,
        }
        if cod_form == "money_transfer":
            document["BackwardDeliveryData"] = [{"PayerType": "Recipient", "CargoType": "Money",
                                                 "RedeliveryString": _amount(request.cod_amount or Decimal(0))}]
        elif cod_form == "payment_control":
            document["AfterpaymentOnGoodsCost"] = _amount(request.cod_amount or Decimal(0))
        return document

    def find_waybill(self, client_key: str, ship_date: date) -> Waybill | None:
        """The document carrying our client_key in InfoRegClientBarcodes, created a day either side of
        ship_date (a run cut off before midnight, clocks); None when Nova Poshta has none."""
        properties = {"DateTimeFrom": (ship_date - timedelta(days=1)).strftime("%d.%m.%Y"),
                      "DateTimeTo": (ship_date + timedelta(days=1)).strftime("%d.%m.%Y"), "GetFullList": "1"}
        answer = self.call("InternetDocument", "getDocumentList", properties)
        found = [d for d in _as_list(answer.get("data")) if isinstance(d, dict)
                 and str(d.get("InfoRegClientBarcodes") or "") == client_key]
        if not found:
            return None
        if len(found) > 1:
            log.warning("%s: %d documents carry %s; taking %s", self.client.name, len(found), client_key,
                        found[0].get("IntDocNumber"))
        doc = found[0]
        return Waybill(number=str(doc.get("IntDocNumber") or doc.get("Number")), ref=str(doc.get("Ref")),
                       cost=_decimal(doc.get("CostOnSite")),
                       estimated_delivery=np_date(doc.get("EstimatedDeliveryDate")), cod_form=_cod_form_of(doc),
                       client_key=client_key)

    def track(self, parcels: Sequence[TrackedParcel]) -> list[TrackingStatus]:
        """getStatusDocuments in batches of at most 100, with the recipient's phone (the full answer)."""
        statuses: list[TrackingStatus] = []
        batch = max(1, min(self.track_batch, TRACK_BATCH))
        for start in range(0, len(parcels), batch):
            documents = [{"DocumentNumber": p.number, "Phone": _phone(p.phone) if p.phone else ""}
                         for p in parcels[start:start + batch]]
            answer = self.call("TrackingDocument", "getStatusDocuments", {"Documents": documents})
            statuses.extend(self.status_of(item) for item in _as_list(answer.get("data")) if isinstance(item, dict))
        return statuses

    def status_of(self, item: dict[str, Any]) -> TrackingStatus:
        """One tracking item in our terms (codes as strings, times aware in Kyiv, COD and return read)."""
        code = str(item.get("StatusCode", "")).strip()
        return TrackingStatus(number=str(item.get("Number", "")), code=code, text=str(item.get("Status") or ""),
                              at=self._status_time(item), cod_amount=_cod_amount(item),
                              cod_paid=code == RECEIVED_PAID,
                              return_number=_return_number(item, code), raw=_jsonable(item))

    def _status_time(self, item: dict[str, Any]) -> datetime:
        """When the status last changed, else when received, else when created; an item with no time at all
        (an unknown number) gets the start of today, so asking again the same day records it once."""
        for key in ("TrackingUpdateDate", "RecipientDateTime", "DateCreated"):
            moment = np_time(item.get(key))
            if moment is not None:
                return moment
        return datetime.combine(self.today(), time(0), KYIV)

    def delete_waybill(self, waybill: Waybill) -> None:
        """InternetDocument.delete; a refusal for a document Nova Poshta already shows deleted (a retry after a
        lost answer) counts as done."""
        try:
            self.call("InternetDocument", "delete", {"DocumentRefs": [waybill.ref]})
        except RemoteRejected:
            shown = self.track([TrackedParcel(waybill.number)])
            if not any(s.number == waybill.number and s.code == "2" for s in shown):
                raise

    # -- DirectorySource -----------------------------------------------------------------------------

    def cities(self) -> Iterator[City]:
        for item in self._pages("Address", "getCities"):
            yield City(ref=str(item["Ref"]), name=str(item.get("Description") or ""),
                       name_ru=_text(item.get("DescriptionRu")), area=_text(item.get("AreaDescription")),
                       kind=_text(item.get("SettlementTypeDescription")))

    def branches(self) -> Iterator[Branch]:
        for item in self._pages("Address", "getWarehouses"):
            yield Branch(ref=str(item["Ref"]), city_ref=str(item.get("CityRef") or ""),
                         number=_text(item.get("Number")), description=str(item.get("Description") or ""),
                         kind=branch_kind(item), address=_text(item.get("ShortAddress")),
                         postcode=_text(item.get("PostalCodeUA")),
                         max_weight_kg=_positive(item.get("PlaceMaxWeightAllowed")))

    def _pages(self, model: str, method: str) -> Iterator[dict[str, Any]]:
        """Page by page until a short page or the totalCount. A full page with nothing new (a server that
        answers the same page again) is a RemoteError: a truncated list must not look like the directory."""
        seen: set[str] = set()
        page = 1
        while True:
            answer = self.call(model, method, {"Page": str(page), "Limit": str(self.page_size)})
            items = [i for i in _as_list(answer.get("data")) if isinstance(i, dict) and i.get("Ref")]
            new = [i for i in items if str(i["Ref"]) not in seen]
            if items and not new and len(items) >= self.page_size:
                raise RemoteError(f"{self.client.name}: {model}.{method} page {page} repeats an earlier page")
            seen.update(str(i["Ref"]) for i in new)
            yield from new
            total = _total_count(answer)
            if not new or len(items) < self.page_size or (total is not None and len(seen) >= total):
                return
            page += 1


# -- reading Nova Poshta's values --------------------------------------------------------------------


def np_time(value: Any) -> datetime | None:
    """A time in any of Nova Poshta's formats ("06-04-2023 08:20:34", "07.04.2023 13:35:58",
    "2023-04-07 11:36:10", "07.04.2023"), Kyiv local time, as an aware datetime; None for empty, unreadable or
    the "0001-01-01" placeholder."""
    text = str(value or "").strip()
    if not text:
        return None
    for pattern in TIME_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=KYIV) if moment.year > 1900 else None
    day = np_date(text)
    return datetime.combine(day, time(0), KYIV) if day else None


def np_date(value: Any) -> date | None:
    """A date as "dd.mm.yyyy", "yyyy-mm-dd" or "dd-mm-yyyy" (a time after it is ignored)."""
    text = str(value or "").strip().split(" ")[0]
    for pattern in DATE_FORMATS:
        try:
            day = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return day if day.year > 1900 else None
    return None


def branch_kind(item: dict[str, Any]) -> str:
    """branch | postomat | cargo, from CategoryOfWarehouse and TypeOfWarehouse."""
    if str(item.get("CategoryOfWarehouse")) == "Postomat" or item.get("TypeOfWarehouse") in POSTOMAT_TYPES:
        return "postomat"
    if item.get("TypeOfWarehouse") in CARGO_TYPES:
        return "cargo"
    return "branch"


def _return_number(item: dict[str, Any], code: str) -> str | None:
    """LastCreatedOnTheBasisNumber is the return document when its type says return, or (no type given) when the
    status is a refusal; a redirection (104) also creates a document, which is not a return."""
    number = _text(item.get("LastCreatedOnTheBasisNumber"))
    if not number:
        return None
    kind = str(item.get("LastCreatedOnTheBasisDocumentType") or "").lower()
    if any(word in kind for word in RETURN_TYPE_WORDS) or (not kind and code in REFUSAL_CODES):
        return number
    return None


def _total_count(answer: dict[str, Any]) -> Decimal | None:
    info = answer.get("info")
    return _decimal(info.get("totalCount")) if isinstance(info, dict) else None


def _cod_amount(item: dict[str, Any]) -> Decimal | None:
    for key in ("RedeliverySum", "AfterpaymentOnGoodsCost"):
        amount = _positive(item.get(key))
        if amount is not None:
            return amount
    return None


def _cod_form_of(doc: dict[str, Any]) -> str | None:
    if any(isinstance(d, dict) and d.get("CargoType") == "Money" for d in _as_list(doc.get("BackwardDeliveryData"))):
        return "money_transfer"
    return "payment_control" if _positive(doc.get("AfterpaymentOnGoodsCost")) else None


def _has_cod(request: WaybillRequest) -> bool:
    return request.cod_amount is not None and request.cod_amount > 0


def _first(answer: dict[str, Any]) -> dict[str, Any]:
    data = _as_list(answer.get("data"))
    if not data or not isinstance(data[0], dict):
        raise RemoteError("Nova Poshta answered success without data")
    return data[0]


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None


def _positive(value: Any) -> Decimal | None:
    amount = _decimal(value)
    return amount if amount is not None and amount > 0 else None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _amount(value: Decimal) -> str:
    """A number as Nova Poshta reads it: "1500", "0.5", "1500.5" (no exponent, no trailing zeros)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def _phone(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def _jsonable(value: Any) -> Any:
    """The item for a jsonb column: Decimals (the client parses floats so) back to plain JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value
