"""Ukrposhta eCom API: shipments (waybills) created, found again by our key, tracked and deleted.

Facts (reference section 2 and the public clients tibezh/ukrposhta-php-sdk, sashalenz/ukrpost-api): eCom
calls send `Authorization: Bearer <ecom bearer>` and `?token=<counterparty token>` (POST /addresses needs
no token); the recipient is made in two steps, `POST addresses` {postcode, city} -> {id}, then `POST clients`
{type INDIVIDUAL, lastName, firstName, middleName, phoneNumber, addresses [{addressId}]} -> {uuid}; then
`POST shipments` {sender {uuid}, recipient {uuid}, type, deliveryType, parcels [{weight in grams, length,
width, height, declaredPrice}], postPay, paidByRecipient, externalId, ...} -> {uuid, barcode,
deliveryPrice, deliveryDate, lifecycle}; `DELETE shipments/{uuid}` while it is CREATED. Errors are HTTP
4xx/5xx with {"message", "code"}. Tracking: `GET /status-tracking/0.0.1/statuses/last?barcode=` with its own
bearer -> {event, eventName, date, eventReason_id, ...}; a barcode tracking does not know yet answers 404.
No tracking event says the COD money was paid out: the eCom transfers service does
(`GET transfers/shipment-postpays/{barcode}/with-recipient` -> {sum, lastStatus "OP" = paid out,
lastStatusNameUa, lastStatusTime}; sashalenz/ukrpost-api); a delivered parcel's transfer is read with it.
Inferred (docs/decisions.md, "Ukrposhta adapter"): the lookup of a shipment by our externalId
(`shipments/external-id/{externalId}`, in `_shipments_with_external_id` only); event 41000 with reason 10
meaning "returned to the sender" (our code "41000:10"); dates without an offset being Kyiv time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from shopsync.carriers.base import CarrierKind, TrackedParcel, TrackingStatus, Waybill, WaybillRequest
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.api_client import ApiClient, RemoteError, RemoteRejected, client_for
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

KYIV = ZoneInfo("Europe/Kyiv")          # Ukrposhta's times without an offset
ECOM = "/ecom/0.0.1"
TRACKING = "/status-tracking/0.0.1"
SHIPMENT_TYPE = "STANDARD"              # the cheaper domestic service; postPay allowed with a declared price
TRACKING_LANG = "UA"
# Tracking refusals that concern one barcode (not known yet; malformed): the others are tracked on
SKIPPED_TRACKING_STATUSES = frozenset({400, 404, 422})
GONE_LIFECYCLES = frozenset({"DELETED", "CANCELED", "CANCELLED"})
# Events whose meaning depends on eventReason_id: (event, reason) -> our code (the status map's key).
# 41000 "delivered" with reason 10 is the parcel handed back to the sender (sashalenz/ukrpost-api EventCode).
REASON_CODES = {("41000", "10"): "41000:10"}
DELIVERED_EVENT = "41000"
POSTPAY_PAID = "OP"                     # the COD transfer's lastStatus "виплачений": paid out to the sender
COD_PAID_CODE = f"{DELIVERED_EVENT}:{POSTPAY_PAID}"   # our code for it (carriers/statuses.py maps it to cod_paid)


def check_answer(status: int, body: Any) -> None:
    """Ukrposhta's refusals: HTTP 4xx with {"message", "code"} (api_client has already taken 401, 429, 5xx)."""
    if status < 400:
        return
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    code = body.get("code") if isinstance(body, dict) else None
    text = message or f"HTTP {status}"
    raise RemoteRejected(f"{text} (code {code})" if code else text, status=status,
                          code=None if code is None else str(code))


@dataclass
class UkrposhtaAuth:
    """`Authorization: Bearer` for one API (eCom or tracking); every Ukrposhta secret is kept out of messages.

    The counterparty token travels as `?token=` (the API reads it there), so it is a secret of both clients:
    a library's error text may carry the URL."""

    bearer: str = field(repr=False)
    others: tuple[str, ...] = field(default=(), repr=False)
    purpose: str = "eCom bearer"

    @property
    def secrets(self) -> list[str]:
        return [self.bearer, *self.others]

    def headers(self, client: ApiClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    def renew(self, client: ApiClient) -> None:
        raise RemoteRejected(f"{client.name}: the {self.purpose} was refused (HTTP 401): check the connection",
                              status=401)


def connect(connection: ConnectionInfo, settings: CarrierSettings, retry: RetryPolicy | None = None) -> Ukrposhta:
    """The eCom bearer is the connection's password, the counterparty token its extra `token`; tracking uses
    extra `tracking_token` (Ukrposhta issues a separate bearer for it) or the eCom bearer."""
    bearer, token = connection.password, connection.extra_str("token")
    if not bearer or not token:
        raise RemoteRejected(f"connection {connection.conn_id!r}: Ukrposhta needs the eCom bearer as the password "
                              "and the counterparty token as extra 'token'")
    if not settings.sender.client_uuid:
        raise RemoteRejected("carrier settings: Ukrposhta needs sender.client_uuid (the sender's client uuid)")
    tracking = connection.extra_str("tracking_token") or bearer
    secrets = (bearer, token, tracking)
    ecom = client_for(connection, "ukrposhta", UkrposhtaAuth(bearer, secrets), check_answer, retry)
    tracker = client_for(connection, "ukrposhta tracking", UkrposhtaAuth(tracking, secrets, "tracking bearer"),
                         check_answer, retry)
    return Ukrposhta(ecom, tracker, token, settings)


@dataclass
class Ukrposhta:
    ecom: ApiClient
    tracker: ApiClient
    token: str = field(repr=False)
    settings: CarrierSettings
    kind: CarrierKind = "ukrposhta"

    # -- the calls ---------------------------------------------------------------------------------

    def _ecom(self, method: str, path: str, body: Any = None, client: ApiClient | None = None) -> Any:
        return (client or self.ecom).call(method, ECOM + path, params={"token": self.token}, body=body)

    # -- create --------------------------------------------------------------------------------------

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        """Address -> client -> shipment carrying `externalId` = client_key.

        The shipment POST is sent once (a retry after a lost answer would make a second paid shipment): when it
        fails transiently, the shipment is looked up by its key; found, it is the answer, else the RemoteError
        stands and the next run looks again (find_waybill) before creating."""
        recipient_uuid = self._recipient_client(request)
        body = shipment_body(request, self.settings.sender.client_uuid or "", recipient_uuid)
        once = replace(self.ecom, retry=RetryPolicy(attempts=1))
        try:
            answer = self._ecom("POST", "/shipments", body, client=once)
        except RemoteError:
            found = self.find_waybill(request.client_key, request.ship_date)
            if found is None:
                raise
            log.warning("ukrposhta: the shipment of %s was created though its answer was lost: %s",
                        request.client_key, found.number)
            return found
        return waybill_of(answer, request.client_key)

    def _recipient_client(self, request: WaybillRequest) -> str:
        recipient = request.recipient
        if not recipient.postcode or not (len(recipient.postcode) == 5 and recipient.postcode.isdigit()):
            raise RemoteRejected(f"ukrposhta: {request.client_key}: the recipient needs the 5-digit postcode of "
                                  f"a post office (got {recipient.postcode!r})")
        last, first, middle = split_name(recipient.name, request.client_key)
        address = self.ecom.call("POST", ECOM + "/addresses",
                                 body={"postcode": recipient.postcode, "city": recipient.city_name, "country": "UA"})
        address_id = _field(address, "id", "address")
        client: dict[str, Any] = {"type": "INDIVIDUAL", "lastName": last, "firstName": first,
                                  "phoneNumber": phone_digits(recipient.phone),
                                  "addresses": [{"addressId": address_id}]}
        if middle:
            client["middleName"] = middle
        if recipient.email:
            client["email"] = recipient.email
        return str(_field(self._ecom("POST", "/clients", client), "uuid", "client"))

    # -- find ----------------------------------------------------------------------------------------

    def find_waybill(self, client_key: str, ship_date: date) -> Waybill | None:
        """The live shipment carrying `externalId` = client_key (Ukrposhta keeps it: no date window needed)."""
        found = [s for s in self._shipments_with_external_id(client_key)
                 if str(s.get("externalId")) == client_key and _lifecycle(s) not in GONE_LIFECYCLES]
        if not found:
            return None
        if len(found) > 1:
            log.warning("ukrposhta: %d shipments carry %s (%s): the first is taken; delete the others",
                        len(found), client_key, ", ".join(str(s.get("barcode")) for s in found))
        return waybill_of(found[0], client_key)

    def _shipments_with_external_id(self, external_id: str) -> list[dict[str, Any]]:
        """INFERRED path (no public document names one): by analogy with `clients/external-id/{id}`. A list or
        one object is accepted; 404 means none."""
        try:
            answer = self._ecom("GET", f"/shipments/external-id/{quote(external_id, safe='')}")
        except RemoteRejected as refused:
            if refused.status == 404:
                return []
            raise
        items = answer if isinstance(answer, list) else [answer] if isinstance(answer, dict) else []
        return [item for item in items if isinstance(item, dict)]

    # -- track ---------------------------------------------------------------------------------------

    def track(self, parcels: Sequence[TrackedParcel]) -> list[TrackingStatus]:
        """The last event of each barcode (one call each); a barcode tracking does not know yet is left out.
        A delivered parcel's COD transfer is read too: paid out, its status is the COD_PAID_CODE one."""
        statuses = []
        for parcel in parcels:
            try:
                answer = self.tracker.call("GET", TRACKING + "/statuses/last",
                                           params={"barcode": parcel.number, "lang": TRACKING_LANG})
            except RemoteRejected as refused:
                if refused.status not in SKIPPED_TRACKING_STATUSES:
                    raise
                log.log(logging.INFO if refused.status == 404 else logging.WARNING,
                        "ukrposhta: no tracking status for %s: %s", parcel.number, refused)
                continue
            if not isinstance(answer, dict) or answer.get("event") is None:
                continue
            try:
                status = tracking_status(parcel.number, answer)
            except RemoteRejected as unreadable:          # one odd answer never hides the other parcels
                log.warning("ukrposhta: the tracking answer for %s is left out: %s", parcel.number, unreadable)
                continue
            statuses.append(self._with_postpay(status) if status.code == DELIVERED_EVENT else status)
        return statuses

    def _with_postpay(self, status: TrackingStatus) -> TrackingStatus:
        """The delivered status with its COD transfer: the amount, and once paid out the cod_paid status.
        No transfer (404: no COD) leaves the status as it is; another refusal is logged, not raised (the
        delivery itself is known)."""
        try:
            transfer = self._ecom("GET", f"/transfers/shipment-postpays/{quote(status.number, safe='')}/with-recipient")
        except RemoteRejected as refused:
            if refused.status != 404:
                log.warning("ukrposhta: the COD transfer of %s could not be read: %s", status.number, refused)
            return status
        if not isinstance(transfer, dict):
            return status
        amount = _decimal(transfer.get("sum"))
        if str(transfer.get("lastStatus") or "").upper() != POSTPAY_PAID:
            return replace(status, cod_amount=amount)
        text = str(transfer.get("lastStatusNameUa") or "післяплату виплачено")
        at = kyiv_time(transfer["lastStatusTime"]) if transfer.get("lastStatusTime") else status.at
        return TrackingStatus(number=status.number, code=COD_PAID_CODE, text=text, at=at, cod_amount=amount,
                              cod_paid=True, raw={"status": status.raw, "postpay": _plain(transfer)})

    # -- delete --------------------------------------------------------------------------------------

    def delete_waybill(self, waybill: Waybill) -> None:
        """Only a CREATED shipment can go (Ukrposhta refuses later ones: RemoteRejected); one already gone is fine."""
        try:
            self._ecom("DELETE", f"/shipments/{quote(waybill.ref, safe='')}")
        except RemoteRejected as refused:
            if refused.status != 404:
                raise
            log.info("ukrposhta: shipment %s was already deleted", waybill.number)


# -- shapes ----------------------------------------------------------------------------------------------


def shipment_body(request: WaybillRequest, sender_uuid: str, recipient_uuid: str) -> dict[str, Any]:
    """The POST shipments body. Ukrposhta refuses a postPay above the declared price, so the declared price
    is at least the COD amount."""
    cod = request.cod_amount if request.cod_amount and request.cod_amount > 0 else None
    declared = max(request.parcel.declared_value, cod or Decimal(0))
    body: dict[str, Any] = {
        "sender": {"uuid": sender_uuid}, "recipient": {"uuid": recipient_uuid},
        "type": SHIPMENT_TYPE, "deliveryType": request.service_type or "W2W",
        "parcels": parcels_of(request, declared),
        "paidByRecipient": request.payer == "Recipient",
        "description": request.parcel.description, "externalId": request.client_key,
    }
    if cod is not None:
        body["postPay"] = _number(cod)
        body["postPayPaidByRecipient"] = True
    return body


def parcels_of(request: WaybillRequest, declared: Decimal) -> list[dict[str, Any]]:
    """One parcel per seat: the weight (grams, rounded up) and the declared price shared out, the remainder
    on the first."""
    parcel, seats = request.parcel, max(1, request.parcel.seats)
    total_grams = max(1, math.ceil(parcel.weight_kg * 1000))
    grams = [total_grams // seats + (1 if n < total_grams % seats else 0) for n in range(seats)]
    share = (declared / seats).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    prices = [declared - share * (seats - 1)] + [share] * (seats - 1)
    return [{"weight": max(1, g), "length": parcel.length_cm, "width": parcel.width_cm, "height": parcel.height_cm,
             "declaredPrice": _number(price), "description": parcel.description}
            for g, price in zip(grams, prices, strict=True)]


def waybill_of(shipment: Any, client_key: str) -> Waybill:
    barcode, uuid = _field(shipment, "barcode", "shipment"), _field(shipment, "uuid", "shipment")
    return Waybill(number=str(barcode), ref=str(uuid), cost=_decimal(shipment.get("deliveryPrice")),
                   estimated_delivery=_date(shipment.get("deliveryDate")),
                   cod_form="money_transfer" if _decimal(shipment.get("postPay")) else None,
                   client_key=str(shipment.get("externalId") or client_key))


def tracking_status(number: str, answer: dict[str, Any]) -> TrackingStatus:
    """One statuses/last answer in our terms; an answer without an event or a readable date is refused."""
    event = str(answer.get("event") if answer.get("event") is not None else "").strip()
    if not event:
        raise RemoteRejected(f"ukrposhta: tracking answered no event for {number!r}")
    reason = answer.get("eventReason_id")
    code = REASON_CODES.get((event, str(reason).strip()), event) if reason is not None else event
    text = str(answer.get("eventName") or answer.get("name") or event)
    if answer.get("eventReason"):
        text = f"{text} ({answer['eventReason']})"
    return TrackingStatus(number=str(answer.get("barcode") or number), code=code, text=text,
                          at=kyiv_time(answer.get("date")), raw=_plain(answer))


def split_name(name: str, client_key: str) -> tuple[str, str, str | None]:
    """"Прізвище Ім'я [По батькові]" -> last, first, middle (Ukrposhta's INDIVIDUAL needs the first two)."""
    parts = name.split()
    if len(parts) < 2:
        raise RemoteRejected(f"ukrposhta: {client_key}: the recipient's name {name!r} needs a last name and a "
                              "first name")
    return parts[0], parts[1], " ".join(parts[2:]) or None


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def kyiv_time(value: Any) -> datetime:
    """ISO 8601 with or without an offset (none: Kyiv time); a missing or unreadable date is refused."""
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise RemoteRejected(f"ukrposhta: tracking answered a date that cannot be read: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KYIV)


def _plain(value: Any) -> Any:
    """An answer as plain JSON values (the client reads decimals as Decimal; the history stores jsonb)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _lifecycle(shipment: dict[str, Any]) -> str:
    lifecycle = shipment.get("lifecycle")
    return str(lifecycle.get("status") or "").upper() if isinstance(lifecycle, dict) else ""


def _field(answer: Any, name: str, what: str) -> Any:
    value = answer.get(name) if isinstance(answer, dict) else None
    if value in (None, ""):
        raise RemoteRejected(f"ukrposhta: the {what} answer has no {name}")
    return value


def _number(amount: Decimal) -> int | float:
    """Money as a JSON number (requests cannot send Decimal): whole amounts as integers."""
    value = amount.quantize(Decimal("0.01"))
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)[:19]).date() if value else None
    except ValueError:
        return None
