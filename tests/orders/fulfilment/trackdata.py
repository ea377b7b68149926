"""Shipped invoices with a shipments row 'created', as the shipping pass leaves them, for the tracking tests; the
waybills are real documents at the fake Nova Poshta (made with the adapter's create_waybill)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import yaml
from fake_nova_poshta import API_KEY, KYIV_BRANCH_33_REF, KYIV_REF, SENDER
from orderdata import KNOWN_PHONE, SHOP, TODAY, WAREHOUSES, execute, line, order, scalar
from test_ingest import shop_settings

from shopsync.carriers import nova_poshta
from shopsync.carriers.base import Parcel, Recipient, WaybillRequest
from shopsync.core.config import ShopSettings
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

ONCE = RetryPolicy(attempts=1)
CARRIER = {"kind": "nova_poshta", "conn_id": "nova_poshta_test", "sender": {
    "name": "ТОВ Демо", "phone": SENDER["SendersPhone"], "city_ref": SENDER["CitySender"],
    "counterparty_ref": SENDER["Sender"], "address_ref": SENDER["SenderAddress"],
    "contact_ref": SENDER["ContactSender"]}}


def tracking_shop(tmp_path: Path, **fulfilment) -> ShopSettings:
    """The test shop with a Nova Poshta account and the given `fulfilment:` settings."""
    settings = shop_settings(tmp_path / "inbox", SHOP)
    return ShopSettings.model_validate({**settings.model_dump(), "carriers": [CARRIER], "fulfilment": fulfilment})


def connection_to(server) -> ConnectionInfo:
    host, port = server.base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id="nova_poshta_test", conn_type="http", host=host, port=int(port), schema="http",
                          password=API_KEY, extra={"timeout": 2})


def opener(server, retry: RetryPolicy = ONCE):
    """track_open's `open_carrier`: the real adapter talking to the fake."""
    def open_carrier(settings: CarrierSettings, _retry: RetryPolicy | None = None) -> nova_poshta.NovaPoshta:
        return nova_poshta.connect(connection_to(server), settings, retry)
    return open_carrier


def waybill_at(server, key: str, cod: Decimal | None = None) -> str:
    """A document at the fake for the known customer's phone (so tracking answers in full); its number."""
    carrier = opener(server)(CarrierSettings.model_validate(CARRIER))
    recipient = Recipient(name="Петренко Олена", phone=KNOWN_PHONE.lstrip("+"), city_name="Київ", city_ref=KYIV_REF,
                          branch_ref=KYIV_BRANCH_33_REF, branch_number="33")
    return carrier.create_waybill(WaybillRequest(
        client_key=key, ship_date=TODAY, recipient=recipient, parcel=Parcel(weight_kg=Decimal(1)),
        service_type="WarehouseWarehouse", payer="Recipient", cod_amount=cod)).number


def shipped(engine, number: str, waybill: str, lines=None, cod: Decimal | None = None,
            ship_date: date = TODAY) -> tuple[int, int]:
    """An applied order shipped by workflow.ship with a shipment 'created' for `waybill`; (invoice, shipment)."""
    result = apply_order(engine, SHOP, order(number, lines or [line(101, "4")],
                                             payment_status="cod" if cod else "paid"), WAREHOUSES, None, TODAY)
    with engine.begin() as conn:
        note_id = workflow.ship(conn, result.invoice_id, "Nova Poshta", waybill, cod)
    shipment_id = execute(
        engine,
        "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, ship_date, cod_amount, cod_form,"
        " waybill_number, carrier_ref, delivery_state, delivery_note_id, intent_at)"
        " VALUES (:shop, :invoice, 'nova_poshta', 'created', :key, :day, :cod, :form, :waybill, :ref, 'created',"
        " :note, now()) RETURNING id",
        shop=SHOP, invoice=result.invoice_id, key=f"{SHOP}-{number}", day=ship_date, cod=cod,
        form="money_transfer" if cod else None, waybill=waybill, ref=f"ref-{waybill}", note=note_id,
    ).scalar_one()
    return result.invoice_id, shipment_id


def shipped_at(engine, server, number: str, lines=None, cod: Decimal | None = None) -> tuple[int, int, str]:
    """`shipped` with a waybill the fake knows: (invoice, shipment, waybill)."""
    waybill = waybill_at(server, f"{SHOP}-{number}", cod)
    return (*shipped(engine, number, waybill, lines, cod), waybill)


def invoice(engine, invoice_id: int) -> tuple:
    """(status, payment_status, needs_attention, attention_reasons) of an invoice."""
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT status, payment_status, needs_attention, attention_reasons FROM invoices WHERE id = :i"),
            {"i": invoice_id}).one())


def on_hand(engine, good_id: int, warehouse_id: int) -> Decimal:
    return scalar(engine, "SELECT on_hand FROM stock WHERE good_id = :g AND warehouse_id = :w",
                  g=good_id, w=warehouse_id)


def tracking_calls(server) -> list[list[str]]:
    """The document numbers of each getStatusDocuments call the fake received."""
    return [[d["DocumentNumber"] for d in r.json["methodProperties"]["Documents"]]
            for r in server.logged("POST") if r.json.get("calledMethod") == "getStatusDocuments"]


def cli_env(tmp_path: Path, shop: ShopSettings, db_url: str, server=None) -> dict[str, str]:
    """Environment for `shopsync` in a subprocess: the shop's file in a directory of its own, the database, and the
    fake's Connection."""
    settings = shop.model_dump(mode="json", exclude_none=True)
    settings["carrier"] = settings.pop("carriers")
    directory = tmp_path / "shops"
    directory.mkdir(exist_ok=True)
    (directory / f"{shop.id}.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    env = {"SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": str(directory)}
    if server is not None:
        host, port = server.base_url.removeprefix("http://").split(":")
        env["AIRFLOW_CONN_NOVA_POSHTA_TEST"] = json.dumps(
            {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": API_KEY})
    return env
