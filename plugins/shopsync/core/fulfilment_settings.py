"""What a shop's file says about shipping its orders: `carrier:`, `bank_details:`, `fulfilment:` (docs/operations.md).

    carrier:                        # one carrier, or a list (the first is the default of `shopsync ship`)
      kind: nova_poshta             # or ukrposhta
      conn_id: nova_poshta_default  # Airflow Connection: host (a test server stands in), password = API key
      sender: {name: ..., phone: "380...", city_ref: ..., counterparty_ref: ..., address_ref: ..., contact_ref: ...}
      service_type: WarehouseWarehouse
      payer: Recipient              # who pays the delivery: Sender | Recipient
      declared_value: invoice_total # or fixed (declared_value_amount)
      cod_form: money_transfer      # or payment_control (Nova Poshta "контроль оплати"), see fallback
      parcel: {weight_kg: 1, seats: 1, length_cm: 30, width_cm: 20, height_cm: 10, description: "Товари"}
      status_map: {"80": lost}      # carrier status code -> our delivery state, over the defaults
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shopsync.core.schedules import cron_schedule

CARRIER_KINDS = ("nova_poshta", "ukrposhta")
# Our delivery states, which the tracking pass moves a shipment through (orders/fulfilment/tracking.py):
DELIVERY_STATES = ("created", "in_transit", "at_branch", "delivered", "cod_paid", "refused", "returning",
                   "returned", "lost", "deleted")
CodForm = Literal["money_transfer", "payment_control"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SenderSettings(_Strict):
    """Who sends: what the carrier's account holds for the shop (Nova Poshta refs, Ukrposhta client uuid)."""
    name: str
    phone: str
    city: str | None = None
    city_ref: str | None = None              # Nova Poshta CitySender
    counterparty_ref: str | None = None      # Nova Poshta Sender
    address_ref: str | None = None           # Nova Poshta SenderAddress (the sending branch)
    contact_ref: str | None = None           # Nova Poshta ContactSender
    client_uuid: str | None = None           # Ukrposhta sender client
    postcode: str | None = None              # Ukrposhta sending post office


class ParcelDefaults(_Strict):
    weight_kg: Annotated[Decimal, Field(gt=0, le=1000)] = Decimal("1")
    seats: Annotated[int, Field(ge=1, le=100)] = 1
    length_cm: Annotated[int, Field(ge=1, le=300)] = 30
    width_cm: Annotated[int, Field(ge=1, le=300)] = 20
    height_cm: Annotated[int, Field(ge=1, le=300)] = 10
    description: str = "Товари"


class CarrierSettings(_Strict):
    kind: Literal["nova_poshta", "ukrposhta"]
    conn_id: str
    sender: SenderSettings
    service_type: str | None = None          # default per carrier: WarehouseWarehouse | W2W
    payer: Literal["Sender", "Recipient"] = "Recipient"
    declared_value: Literal["invoice_total", "fixed"] = "invoice_total"
    declared_value_amount: Annotated[Decimal, Field(ge=0)] = Decimal("200")
    cod_form: CodForm = "money_transfer"
    # Nova Poshta refuses classic COD to some senders (error 20000204637): then payment control is used
    cod_fallback: bool = True
    parcel: ParcelDefaults = Field(default_factory=ParcelDefaults)
    status_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("status_map")
    @classmethod
    def states_are_ours(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(DELIVERY_STATES))
        if unknown:
            raise ValueError(f"unknown delivery state(s) {', '.join(unknown)}; ours are {', '.join(DELIVERY_STATES)}")
        return value

    @model_validator(mode="after")
    def sender_fits_the_carrier(self) -> CarrierSettings:
        needed = {"nova_poshta": ("city_ref", "counterparty_ref", "address_ref", "contact_ref"),
                  "ukrposhta": ("client_uuid",)}[self.kind]
        missing = [name for name in needed if not getattr(self.sender, name)]
        if missing:
            raise ValueError(f"sender: {self.kind} needs {', '.join(missing)}")
        return self

    @property
    def service(self) -> str:
        return self.service_type or {"nova_poshta": "WarehouseWarehouse", "ukrposhta": "W2W"}[self.kind]


class BankDetails(_Strict):
    """Where a buyer pays an invoice (the payment-request e-mail)."""
    recipient: str
    iban: Annotated[str, Field(pattern=r"^UA\d{27}$")]
    edrpou: Annotated[str, Field(pattern=r"^\d{8,10}$")]
    bank: str | None = None
    purpose: str = "Оплата за замовлення №{number}"


class FulfilmentSettings(_Strict):
    schedule: str = "*/15 * * * *"
    stuck_days: Annotated[int, Field(ge=1, le=60)] = 5   # no carrier status change for this long: "stuck"
    buyer_emails: bool = True
    mail_from: str | None = None                          # default: the SMTP Connection's login
    track_batch: Annotated[int, Field(ge=1, le=100)] = 100

    @field_validator("schedule")
    @classmethod
    def schedule_is_cron(cls, value: str) -> str:
        return cron_schedule(value)


def carriers_list(value: object) -> object:
    """`carrier:` may name one carrier or list several; kept as a list, the first being the default."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
