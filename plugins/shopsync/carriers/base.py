"""What every carrier adapter offers (Nova Poshta, Ukrposhta), in our terms.

    create_waybill(request) -> Waybill            one document at the carrier, our client_key written on it
    find_waybill(client_key, ship_date) -> Waybill | None
                                                  the document a cut-off run may have created (exactly once)
    track(parcels) -> list[TrackingStatus]        the current status of each waybill (the adapter batches)
    delete_waybill(waybill) -> None               a waybill of an invoice cancelled before hand-over
Directory (carriers/directory.py keeps a local copy): cities() and branches() stream the carrier's lists.

Adapters do the I/O and map shapes; they never touch the database. Errors: transport.api_client's
RemoteError (transient: retried by the next run) and RemoteRejected (the carrier refused this request:
repeating it cannot help; `code` carries the carrier's error code when it gave one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

CarrierKind = Literal["nova_poshta", "ukrposhta"]
# Carriers whose adapter is also a DirectorySource (carriers/directory.py keeps a copy; dags/carrier_directory.py
# refreshes it weekly). Ukrposhta is addressed by the post office's postcode instead.
DIRECTORY_KINDS: tuple[CarrierKind, ...] = ("nova_poshta",)
CARRIER_NAMES = {"nova_poshta": "Nova Poshta", "ukrposhta": "Ukrposhta"}     # in messages to operators
# What documents and buyers call them: delivery notes (channels.base.carrier_code reads these), buyer e-mails
CARRIER_TITLES = {"nova_poshta": "Нова пошта", "ukrposhta": "Укрпошта"}


def carrier_name(kind: str) -> str:
    return CARRIER_NAMES.get(kind, kind)


def carrier_title(kind: str) -> str:
    return CARRIER_TITLES.get(kind, kind)


@dataclass(frozen=True)
class Recipient:
    """The buyer, addressed from the local directory (refs) or, for Ukrposhta, a post office's postcode."""
    name: str                                 # "Прізвище Ім'я [По батькові]"
    phone: str                                # 380XXXXXXXXX
    city_name: str
    city_ref: str | None = None
    branch_ref: str | None = None
    branch_number: str | None = None
    postcode: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Parcel:
    weight_kg: Decimal
    seats: int = 1
    length_cm: int = 30
    width_cm: int = 20
    height_cm: int = 10
    declared_value: Decimal = Decimal(0)
    description: str = "Товари"


@dataclass(frozen=True)
class WaybillRequest:
    client_key: str                           # ours, unique per shipment: written on the document to find it again
    ship_date: date
    recipient: Recipient
    parcel: Parcel
    service_type: str                         # WarehouseWarehouse ... | W2W ...
    payer: Literal["Sender", "Recipient"]
    cod_amount: Decimal | None = None         # None or 0: no cash on delivery
    cod_form: Literal["money_transfer", "payment_control"] = "money_transfer"
    cod_fallback: bool = True


@dataclass(frozen=True)
class Waybill:
    number: str                               # what people see: NP IntDocNumber (14 digits), UP barcode
    ref: str                                  # NP Ref / UP uuid
    cost: Decimal | None = None               # the delivery's price
    estimated_delivery: date | None = None
    cod_form: str | None = None               # the form the carrier accepted (after a fallback: payment_control)
    client_key: str | None = None


@dataclass(frozen=True)
class TrackedParcel:
    number: str
    phone: str | None = None                  # Nova Poshta answers in full only with the recipient's phone


@dataclass(frozen=True)
class TrackingStatus:
    number: str
    code: str                                 # the carrier's status code, always a string
    text: str
    at: datetime                              # aware: when the carrier says the status began (or last changed)
    cod_amount: Decimal | None = None         # cash on delivery the carrier reports for the parcel
    cod_paid: bool = False                    # the carrier says the COD money was paid out to the sender
    return_number: str | None = None          # the return document created after a refusal
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class City:
    ref: str
    name: str
    name_ru: str | None = None
    area: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Branch:
    ref: str
    city_ref: str
    number: str | None
    description: str
    kind: str | None = None                   # branch | postomat | cargo
    address: str | None = None
    postcode: str | None = None
    max_weight_kg: Decimal | None = None


class Carrier(Protocol):
    kind: CarrierKind

    def create_waybill(self, request: WaybillRequest) -> Waybill: ...

    def find_waybill(self, client_key: str, ship_date: date) -> Waybill | None: ...

    def track(self, parcels: Sequence[TrackedParcel]) -> list[TrackingStatus]: ...

    def delete_waybill(self, waybill: Waybill) -> None: ...


class DirectorySource(Protocol):
    kind: CarrierKind

    def cities(self) -> Iterator[City]: ...

    def branches(self) -> Iterator[Branch]: ...
