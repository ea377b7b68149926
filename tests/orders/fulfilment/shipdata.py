"""Shared pieces of the shipping tests: a shop with the fake Nova Poshta as its carrier, the directory loaded from
the fake, orders addressed to its branches, and the adapter bound to the fake (the `open_carrier` of ship_ready)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fake_nova_poshta import API_KEY, SENDER
from orderdata import SHOP, TODAY, WAREHOUSES, line, order, rows, scalar
from sqlalchemy.engine import Engine
from test_ingest import shop_settings

from shopsync.carriers import directory, nova_poshta
from shopsync.core.config import ShopSettings
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.orders.apply import apply_order
from shopsync.orders.fulfilment import shipping
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

SHIP_DATE = date(2026, 12, 7)
CONN_ID = "nova_poshta_test"
CARRIER = {"kind": "nova_poshta", "conn_id": CONN_ID, "sender": {
    "name": "ТОВ Демо", "phone": SENDER["SendersPhone"], "city_ref": SENDER["CitySender"],
    "counterparty_ref": SENDER["Sender"], "address_ref": SENDER["SenderAddress"],
    "contact_ref": SENDER["ContactSender"]}}
SAVE = "/v2.0/json*"


def shop_with_carrier(tmp_path: Path, **carrier) -> ShopSettings:
    settings = shop_settings(tmp_path / "inbox")
    dumped = {key: value for key, value in settings.model_dump().items() if key != "carriers"}
    return ShopSettings.model_validate({**dumped, "carrier": {**CARRIER, **carrier}})


def np_connection(base_url: str, timeout: float = 2.0) -> ConnectionInfo:
    host, port = base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id=CONN_ID, conn_type="http", host=host, port=int(port), schema="http",
                          password=API_KEY, extra={"timeout": timeout})


def opener(base_url: str, timeout: float = 2.0):
    """ship_ready's `open_carrier`: the real adapter, talking to the fake."""
    def open_carrier(settings: CarrierSettings, retry: RetryPolicy | None = None) -> nova_poshta.NovaPoshta:
        return nova_poshta.connect(np_connection(base_url, timeout), settings, retry)
    return open_carrier


def load_directory(engine: Engine, shop: ShopSettings, base_url: str) -> None:
    directory.refresh(engine, opener(base_url)(shop.carrier(), RetryPolicy(attempts=1)))


def ordered(engine: Engine, number: str, quantity: str = "2", payment_status: str = "cod",
            city: str | None = "Київ", branch: str | None = "Відділення №33", **fields) -> int:
    """An applied (reserved) order of good 101 at 1500 each, to a Nova Poshta branch."""
    made = order(number, [line(101, quantity)], payment_status=payment_status, delivery_city=city,
                 delivery_branch=branch, **fields)
    return apply_order(engine, SHOP, made, WAREHOUSES, None, TODAY).invoice_id


def requested(engine: Engine, shop: ShopSettings, invoice_id: int, **parcel) -> int:
    with engine.begin() as conn:
        return shipping.request_shipment(conn, shop, invoice_id, **parcel)


def pay(engine: Engine, invoice_id: int, amount: str, reference: str = "bank-1") -> shipping.PaymentResult:
    with engine.begin() as conn:
        return shipping.record_prepayment(conn, invoice_id, Decimal(amount), reference)


def shipment(engine: Engine, invoice_id: int):
    """The invoice's live shipment row."""
    found = rows(engine, "SELECT * FROM shipments WHERE invoice_id = :i AND state <> 'cancelled'", i=invoice_id)
    return found[0] if found else None


def invoice(engine: Engine, invoice_id: int):
    return rows(engine, "SELECT status, payment_status, needs_attention, attention_reasons FROM invoices"
                        " WHERE id = :i", i=invoice_id)[0]


def on_hand(engine: Engine, good_id: int = 101) -> Decimal:
    return scalar(engine, "SELECT sum(on_hand) FROM stock WHERE good_id = :g AND warehouse_id = ANY(:w)",
                  g=good_id, w=WAREHOUSES)


def saves(server) -> int:
    """InternetDocument.save calls the fake received."""
    return sum(1 for record in server.logged("POST", SAVE)
               if isinstance(record.json, dict) and record.json.get("calledMethod") == "save")


__all__ = ["SHOP", "SHIP_DATE"]


def ship(engine, shop, np, **kwargs):
    """One shipping pass of `shop` against the fake `np` (kwargs: the opener's, e.g. a retry policy)."""
    return shipping.ship_ready(engine, shop, open_carrier=opener(np.base_url, **kwargs), today=SHIP_DATE)
