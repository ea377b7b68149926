"""A fake Ukrposhta eCom + status-tracking API (reference section 2) for adapter tests: `FakeUkrposhta().start()`,
or `python tests/fakes/fake_ukrposhta.py --port 0 --state-file X` as its own process (prints its base URL).

Reproduced as the public clients show it (tibezh/ukrposhta-php-sdk, sashalenz/ukrpost-api, third-party code):
- eCom calls send `Authorization: Bearer <ecom bearer>` and `?token=<counterparty token>` (POST /addresses
  needs no token); tracking sends its own bearer and no token.
- `POST /ecom/0.0.1/addresses` {postcode, city, ...} -> {id, postcode, city, ...};
  `POST /ecom/0.0.1/clients` {type INDIVIDUAL, lastName, firstName, middleName, phoneNumber, addressId |
  addresses [{addressId}]} -> {uuid, ..., addressId}; `GET /ecom/0.0.1/clients/{uuid}`.
- `POST /ecom/0.0.1/shipments` {sender {uuid}, recipient {uuid}, type, deliveryType, parcels [{weight grams,
  length, width, height, declaredPrice}], postPay, paidByRecipient, postPayPaidByRecipient, description,
  externalId} -> the shipment {uuid, barcode (13 digits), deliveryPrice, deliveryDate, lifecycle {status,
  statusDate}, ...}; `GET shipments/{uuid}`, `GET shipments/barcode/{barcode}`, `DELETE shipments/{uuid}`
  (only while lifecycle.status is CREATED).
- Rules the SDK checks before sending (so the API refuses them too): parcel weight 1..30000 g, sides of a
  STANDARD/EXPRESS parcel at most 120 x 70 x 70 cm, postPay not above the declared price, an INDIVIDUAL's
  first and last name of two letters at least, a phone of digits, postPay needing the recipient's middle
  name (`require_middle_name_for_cod`).
- `GET /status-tracking/0.0.1/statuses/last?barcode=` -> {barcode, step, date, index, name, event, eventName,
  country, eventReason, eventReason_id, mailType, indexOrder}; `.../statuses?barcode=` -> the list. A barcode
  with no event yet (created, not handed in at a post office) is not known to tracking: 404; one that is not
  13 letters or digits: 400.
- Errors: HTTP 4xx/5xx with {"message", "code"} (codes "UPE01..." validation, "UPE02..." not found,
  "UPE05..." authorisation: the families sashalenz/ukrpost-api's ErrorFactory reads).
- `GET /ecom/0.0.1/transfers/shipment-postpays/{barcode}/with-recipient` -> the COD money transfer {recipientName,
  number, sum, lastStatus, lastStatusNameUa, lastStatusTime}; "OP" ("виплачений") = paid out to the sender
  (sashalenz/ukrpost-api). The fake opens it as "DO" when a COD shipment is delivered (event 41000); before
  that, and for a shipment without postPay, 404.
Inferred (nothing public documents it): `GET /ecom/0.0.1/shipments/external-id/{externalId}` -> a JSON list
of the shipments carrying that externalId (by analogy with the documented `clients/external-id/{id}`);
the exact error codes and messages; the price formula; event dates as Kyiv local time without an offset;
`event` sent as a number (a string when `set_event` was given one, as the SDK's fixtures show both).

Control: `set_event(barcode, event, name, **fields)` appends a tracking event (its `date` defaults to the
server clock); `set_postpay(barcode, status="OP", name="виплачений")` moves the COD transfer; `shipments()`
lists the live shipments; `POST /_fake/events` {barcode, event, name, ...} and `POST /_fake/postpay`
{barcode, status, name} do the same for a fake running as its own process (its state under GET /_fake/state).
"""

from __future__ import annotations

import copy
import itertools
import sys
import uuid as uuid_module
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import FakeServer, json_response, read_json, serve_main

BEARER = "up-ecom-bearer-Kx83Qm2Zt7Wd"            # distinctive, so a leak into logs or messages is easy to find
COUNTERPARTY_TOKEN = "up-counterparty-token-Vw51Ln9Rc4"
TRACKING_BEARER = "up-tracking-bearer-Hd26Sp8Yj3Fq"
SENDER_UUID = "2304bbe5-015c-44f6-a5bf-3e750d753a17"
ECOM = "/ecom/0.0.1"
TRACKING = "/status-tracking/0.0.1"
SHIPMENT_TYPES = ("STANDARD", "EXPRESS")
DELIVERY_TYPES = ("W2W", "W2D", "D2W", "D2D")
MAX_PARCEL_GRAMS = 30_000
CODES = {400: "UPE01001", 401: "UPE05001", 403: "UPE05002", 404: "UPE02001", 405: "UPE01002",
         500: "UPE06001", 504: "UPE06002"}
# Lifecycle status after a tracking event (sashalenz/ukrpost-api EventCode::toStatus)
LIFECYCLE_AFTER_EVENT = {"10100": "REGISTERED", "41000": "DELIVERED", "31200": "RETURNING", "21700": "IN_DEPARTMENT"}


class FakeUkrposhta(FakeServer):
    """Fake Ukrposhta eCom API (addresses, clients, shipments) and status tracking."""

    name = "ukrposhta"

    def __init__(self, state_file: Path | str | None = None, bearer: str = BEARER,
                 counterparty_token: str = COUNTERPARTY_TOKEN, tracking_bearer: str = TRACKING_BEARER,
                 require_middle_name_for_cod: bool = True) -> None:
        super().__init__(state_file)
        self.bearer, self.counterparty_token, self.tracking_bearer = bearer, counterparty_token, tracking_bearer
        self.require_middle_name_for_cod = require_middle_name_for_cod
        self.addresses: dict[int, dict[str, Any]] = {}
        self.clients: dict[str, dict[str, Any]] = {}
        self.all_shipments: dict[str, dict[str, Any]] = {}      # uuid -> shipment (deleted ones too, flagged)
        self.events: dict[str, list[dict[str, Any]]] = {}       # barcode -> events, oldest first
        self.postpays: dict[str, dict[str, Any]] = {}           # barcode -> the COD money transfer
        self._address_ids = itertools.count(2_082_600)
        self._barcodes = itertools.count(1)
        self._seed_sender()

    def _seed_sender(self) -> None:
        address = self._new_address({"postcode": "04210", "city": "Київ", "region": "Київ"})
        self.clients[SENDER_UUID] = {"uuid": SENDER_UUID, "type": "INDIVIDUAL", "name": "Петренко Відправник",
                                     "lastName": "Петренко", "firstName": "Відправник", "middleName": "Іванович",
                                     "phoneNumber": "380677654321", "addressId": address["id"], "externalId": None}

    # -- control -----------------------------------------------------------------------------------

    def set_event(self, barcode: str, event: int | str, name: str = "", **fields: Any) -> dict[str, Any]:
        """Append a tracking event for `barcode` (the newest is what statuses/last answers); returns it."""
        with self.lock:
            history = self.events.setdefault(barcode, [])
            date = fields.pop("date", None) or self.now().strftime("%Y-%m-%dT%H:%M:%S")
            shipment = self._by_barcode(barcode)
            record = {"barcode": barcode, "step": len(history), "date": date,
                      "index": fields.pop("index", "04210"), "name": fields.pop("office", "Київ 10"),
                      "event": event, "eventName": name or f"event {event}", "country": "UA",
                      "eventReason": None, "eventReason_id": None, "mailType": 0, "indexOrder": len(history),
                      **fields}
            history.append(record)
            status = LIFECYCLE_AFTER_EVENT.get(str(event))
            if shipment is not None and status:
                shipment["lifecycle"] = {"status": status, "statusDate": date}
            if shipment is not None and shipment.get("postPay") and str(event) == "41000" \
                    and record.get("eventReason_id") is None and barcode not in self.postpays:
                self._open_postpay(shipment, date)
            self.save()
            return copy.deepcopy(record)

    def _open_postpay(self, shipment: dict[str, Any], date: str) -> None:
        self.postpays[shipment["barcode"]] = {
            "recipientName": shipment["sender"]["name"], "number": f"02{len(self.postpays) + 1:08d}",
            "sum": shipment["postPay"], "lastStatus": "DO", "lastStatusNameUa": "до оплати",
            "lastStatusNameEn": "to be paid", "lastStatusTime": date}

    def set_postpay(self, barcode: str, status: str = "OP", name: str = "виплачений",
                    time: str | None = None) -> dict[str, Any]:
        """Move the COD transfer of a delivered COD shipment (opened by its 41000 event, or here)."""
        with self.lock:
            when = time or self.now().strftime("%Y-%m-%dT%H:%M:%S")
            if barcode not in self.postpays:
                shipment = self._by_barcode(barcode)
                if shipment is None or not shipment.get("postPay"):
                    raise KeyError(f"no COD shipment with barcode {barcode}")
                self._open_postpay(shipment, when)
            self.postpays[barcode].update(lastStatus=status, lastStatusNameUa=name, lastStatusTime=when)
            self.save()
            return copy.deepcopy(self.postpays[barcode])

    def shipments(self) -> list[dict[str, Any]]:
        """Copies of the shipments not deleted, in creation order."""
        with self.lock:
            return [copy.deepcopy(s) for s in self.all_shipments.values() if not s.get("_deleted")]

    # -- FakeServer --------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"message": message, "code": CODES.get(status, f"UPE0{status // 100}000")}

    def check_auth(self, request: web.Request) -> web.Response | None:
        bearer = request.headers.get("Authorization", "")
        if request.path.startswith(TRACKING):
            return None if bearer == f"Bearer {self.tracking_bearer}" else self.error(401, "Unauthorized")
        if bearer != f"Bearer {self.bearer}":
            return self.error(401, "Unauthorized")
        needs_token = not (request.method == "POST" and request.path == f"{ECOM}/addresses")
        if needs_token and request.query.get("token") != self.counterparty_token:
            return self.error(403, "Access denied: the counterparty token is missing or not valid")
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"addresses": list(self.addresses.values()), "clients": list(self.clients.values()),
                "shipments": list(self.all_shipments.values()), "events": self.events, "postpays": self.postpays}

    def load_state(self, state: dict[str, Any]) -> None:
        self.addresses = {a["id"]: a for a in state.get("addresses", [])}
        self.clients = {c["uuid"]: c for c in state.get("clients", [])} or self.clients
        self.all_shipments = {s["uuid"]: s for s in state.get("shipments", [])}
        self.events = state.get("events", {})
        self.postpays = state.get("postpays", {})
        self._address_ids = itertools.count(max([2_082_600, *(i + 1 for i in self.addresses)]))
        self._barcodes = itertools.count(len(self.all_shipments) + 1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(f"{ECOM}/addresses", self._post_address),
                web.post(f"{ECOM}/clients", self._post_client),
                web.get(f"{ECOM}/clients/{{uuid}}", self._get_client),
                web.post(f"{ECOM}/shipments", self._post_shipment),
                web.get(f"{ECOM}/shipments/external-id/{{external_id}}", self._get_by_external_id),
                web.get(f"{ECOM}/shipments/barcode/{{barcode}}", self._get_by_barcode),
                web.get(f"{ECOM}/shipments/{{uuid}}", self._get_shipment),
                web.delete(f"{ECOM}/shipments/{{uuid}}", self._delete_shipment),
                web.get(f"{ECOM}/transfers/shipment-postpays/{{barcode}}/with-recipient", self._postpay),
                web.get(f"{TRACKING}/statuses/last", self._last_status),
                web.get(f"{TRACKING}/statuses", self._statuses),
                web.post("/_fake/events", self._control_events),
                web.post("/_fake/postpay", self._control_postpay)]

    # -- addresses and clients ---------------------------------------------------------------------

    def _new_address(self, body: dict[str, Any]) -> dict[str, Any]:
        address_id = next(self._address_ids)
        address = {"id": address_id, "postcode": body["postcode"], "region": body.get("region"),
                   "district": body.get("district"), "city": body.get("city"), "street": body.get("street"),
                   "houseNumber": body.get("houseNumber"), "apartmentNumber": body.get("apartmentNumber"),
                   "country": body.get("country") or "UA",
                   "detailedInfo": f"Україна, {body['postcode']}, {body.get('city') or ''}".rstrip(", ")}
        self.addresses[address_id] = address
        return address

    async def _post_address(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.error(400, "Request body must be a JSON object")
        postcode = str(body.get("postcode") or "")
        if not (len(postcode) == 5 and postcode.isdigit()):
            return self.error(400, f"postcode must be 5 digits, got '{postcode}'")
        with self.lock:
            return json_response(copy.deepcopy(self._new_address(body)))

    async def _post_client(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.error(400, "Request body must be a JSON object")
        with self.lock:
            problem = self._client_problem(body)
            if problem:
                return self.error(400, problem)
            client = self._new_client(body)
            return json_response(copy.deepcopy(client))

    def _client_problem(self, body: dict[str, Any]) -> str | None:
        if body.get("type", "INDIVIDUAL") != "INDIVIDUAL":
            return None if body.get("name") else "name is required for a company"
        for field in ("firstName", "lastName"):
            if len(str(body.get(field) or "").strip()) < 2:
                return f"{field} must contain at least two characters"
        phone = str(body.get("phoneNumber") or "").removeprefix("+")
        if not (phone.isdigit() and 10 <= len(phone) <= 12):
            return f"phoneNumber '{body.get('phoneNumber')}' is not valid"
        if _address_id(body) not in self.addresses:
            return f"Address with id {_address_id(body)} not found"
        return None

    def _new_client(self, body: dict[str, Any]) -> dict[str, Any]:
        client_uuid = str(uuid_module.uuid4())
        last, first, middle = body.get("lastName"), body.get("firstName"), body.get("middleName") or None
        client = {"uuid": client_uuid, "type": body.get("type", "INDIVIDUAL"),
                  "name": body.get("name") or " ".join(p for p in (last, first, middle) if p),
                  "lastName": last, "firstName": first, "middleName": middle,
                  "phoneNumber": str(body.get("phoneNumber")), "addressId": _address_id(body),
                  "addresses": [{"addressId": _address_id(body), "address": self.addresses[_address_id(body)],
                                 "type": "PHYSICAL", "main": True}],
                  "externalId": body.get("externalId"), "counterpartyUuid": SENDER_UUID}
        self.clients[client_uuid] = client
        return client

    async def _get_client(self, request: web.Request) -> web.Response:
        with self.lock:
            client = self.clients.get(request.match_info["uuid"])
            if client is None:
                return self.error(404, f"Client with uuid {request.match_info['uuid']} not found")
            return json_response(copy.deepcopy(client))

    # -- shipments ---------------------------------------------------------------------------------

    async def _post_shipment(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.error(400, "Request body must be a JSON object")
        with self.lock:
            problem = self._shipment_problem(body)
            if problem:
                return self.error(400, problem)
            shipment = self._new_shipment(body)
            self.save()
            return json_response(_public(shipment))

    def _shipment_problem(self, body: dict[str, Any]) -> str | None:
        sender = self.clients.get(str((body.get("sender") or {}).get("uuid")))
        recipient = self.clients.get(str((body.get("recipient") or {}).get("uuid")))
        if sender is None:
            return "Sender client not found"
        if recipient is None:
            return "Recipient client not found"
        if body.get("type", "EXPRESS") not in SHIPMENT_TYPES:
            return f"type must be one of {', '.join(SHIPMENT_TYPES)}"
        if body.get("deliveryType") not in DELIVERY_TYPES:
            return f"deliveryType must be one of {', '.join(DELIVERY_TYPES)}"
        parcels = body.get("parcels")
        if not isinstance(parcels, list) or not parcels:
            return "At least one parcel is required"
        problem = next((p for p in map(_parcel_problem, parcels) if p), None)
        return problem or self._post_pay_problem(body, parcels, recipient)

    def _post_pay_problem(self, body: dict[str, Any], parcels: list[dict[str, Any]],
                          recipient: dict[str, Any]) -> str | None:
        post_pay = body.get("postPay") or 0
        if not isinstance(post_pay, int | float) or post_pay < 0:
            return "postPay must be a non-negative number"
        if not post_pay:
            return None
        declared = sum(float(p.get("declaredPrice") or 0) for p in parcels)
        if post_pay > declared:
            return f"postPay ({post_pay}) cannot exceed the declared price ({declared:g})"
        if self.require_middle_name_for_cod and recipient.get("type") == "INDIVIDUAL" \
                and not recipient.get("middleName"):
            return "recipient middleName is required for a shipment with postPay"
        return None

    def _new_shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        barcode = f"05{next(self._barcodes):011d}"
        parcels = [{"uuid": str(uuid_module.uuid4()), "parcelNumber": n + 1, "barcode": barcode,
                    "weight": p["weight"], "length": p["length"], "width": p.get("width"), "height": p.get("height"),
                    "declaredPrice": p.get("declaredPrice"), "description": p.get("description")}
                   for n, p in enumerate(body["parcels"])]
        grams = sum(p["weight"] for p in parcels)
        post_pay = body.get("postPay") or None
        price = round(45 + 8 * grams / 1000 + (0.02 * post_pay if post_pay else 0), 2)
        recipient = self.clients[body["recipient"]["uuid"]]
        shipment = {"uuid": str(uuid_module.uuid4()), "barcode": barcode, "type": body.get("type", "EXPRESS"),
                    "deliveryType": body["deliveryType"], "sender": copy.deepcopy(self.clients[body["sender"]["uuid"]]),
                    "recipient": copy.deepcopy(recipient), "recipientPhone": recipient["phoneNumber"],
                    "recipientAddressId": recipient["addressId"], "externalId": body.get("externalId"),
                    "weight": grams, "length": max(p["length"] for p in parcels),
                    "declaredPrice": sum(float(p.get("declaredPrice") or 0) for p in parcels) or None,
                    "deliveryPrice": price, "postPay": post_pay, "postPayUah": post_pay or 0,
                    "paidByRecipient": bool(body.get("paidByRecipient", False)),
                    "postPayPaidByRecipient": bool(body.get("postPayPaidByRecipient", True)),
                    "description": body.get("description"), "parcels": parcels,
                    "lifecycle": {"status": "CREATED", "statusDate": now.strftime("%Y-%m-%dT%H:%M:%S")},
                    "deliveryDate": (now + timedelta(days=3)).strftime("%Y-%m-%dT00:00:00"),
                    "lastModified": now.strftime("%Y-%m-%dT%H:%M:%S"), "postPayPaid": False}
        self.all_shipments[shipment["uuid"]] = shipment
        return shipment

    def _live(self, shipment_uuid: str) -> dict[str, Any] | None:
        shipment = self.all_shipments.get(shipment_uuid)
        return None if shipment is None or shipment.get("_deleted") else shipment

    def _by_barcode(self, barcode: str) -> dict[str, Any] | None:
        return next((s for s in self.all_shipments.values() if s["barcode"] == barcode and not s.get("_deleted")),
                    None)

    async def _get_shipment(self, request: web.Request) -> web.Response:
        with self.lock:
            shipment = self._live(request.match_info["uuid"])
            if shipment is None:
                return self.error(404, f"Shipment with uuid {request.match_info['uuid']} not found")
            return json_response(_public(shipment))

    async def _get_by_barcode(self, request: web.Request) -> web.Response:
        with self.lock:
            shipment = self._by_barcode(request.match_info["barcode"])
            if shipment is None:
                return self.error(404, f"Shipment with barcode {request.match_info['barcode']} not found")
            return json_response(_public(shipment))

    async def _get_by_external_id(self, request: web.Request) -> web.Response:
        external_id = request.match_info["external_id"]
        with self.lock:
            return json_response([_public(s) for s in self.all_shipments.values()
                                  if s.get("externalId") == external_id and not s.get("_deleted")])

    async def _delete_shipment(self, request: web.Request) -> web.Response:
        with self.lock:
            shipment = self._live(request.match_info["uuid"])
            if shipment is None:
                return self.error(404, f"Shipment with uuid {request.match_info['uuid']} not found")
            if shipment["lifecycle"]["status"] != "CREATED":
                return self.error(400, f"Shipment in status {shipment['lifecycle']['status']} cannot be deleted: "
                                       "only CREATED shipments can")
            shipment["_deleted"] = True
            self.save()
        return web.Response(status=200)

    async def _postpay(self, request: web.Request) -> web.Response:
        with self.lock:
            transfer = self.postpays.get(request.match_info["barcode"])
            if transfer is None:
                return self.error(404, f"Postpay for shipment {request.match_info['barcode']} not found")
            return json_response(copy.deepcopy(transfer))

    # -- tracking ----------------------------------------------------------------------------------

    def _history(self, request: web.Request) -> list[dict[str, Any]] | web.Response:
        barcode = request.query.get("barcode", "")
        if not (len(barcode) == 13 and barcode.isalnum()):
            return self.error(400, f"Barcode '{barcode}' is not valid")
        with self.lock:
            history = self.events.get(barcode)
            if not history:
                return self.error(404, f"Barcode {barcode} not found")
            return copy.deepcopy(history)

    async def _last_status(self, request: web.Request) -> web.Response:
        history = self._history(request)
        return history if isinstance(history, web.Response) else json_response(history[-1])

    async def _statuses(self, request: web.Request) -> web.Response:
        history = self._history(request)
        return history if isinstance(history, web.Response) else json_response(history)

    async def _control_events(self, request: web.Request) -> web.Response:
        body = await request.json()
        return json_response(self.set_event(body.pop("barcode"), body.pop("event"), body.pop("name", ""), **body))

    async def _control_postpay(self, request: web.Request) -> web.Response:
        return json_response(self.set_postpay(**(await request.json())))


def _address_id(body: dict[str, Any]) -> Any:
    if body.get("addressId") is not None:
        return body["addressId"]
    addresses = body.get("addresses") or [{}]
    return addresses[0].get("addressId") if isinstance(addresses[0], dict) else None


def _parcel_problem(parcel: Any) -> str | None:
    if not isinstance(parcel, dict):
        return "Each parcel must be an object"
    for field in ("weight", "length", "width", "height"):
        value = parcel.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return f"parcel {field} must be a positive integer, got {value!r}"
    if parcel["weight"] > MAX_PARCEL_GRAMS:
        return f"A parcel cannot weigh more than {MAX_PARCEL_GRAMS} grams"
    if parcel["length"] > 120 or parcel["width"] > 70 or parcel["height"] > 70:
        return "Parcel dimensions exceed the limits (120 x 70 x 70 cm)"
    declared = parcel.get("declaredPrice")
    if declared is not None and (not isinstance(declared, int | float) or declared < 0):
        return "parcel declaredPrice must be a non-negative number"
    return None


def _public(shipment: dict[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in shipment.items() if not key.startswith("_")}


if __name__ == "__main__":
    serve_main(FakeUkrposhta, sys.argv[1:])
