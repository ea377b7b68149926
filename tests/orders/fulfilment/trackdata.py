"""Shipped invoices with a shipments row 'created', as the shipping pass leaves them, for the tracking tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from orderdata import SHOP, TODAY, WAREHOUSES, execute, line, order, scalar
from test_ingest import shop_settings

from shopsync.core.config import ShopSettings
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order

SENDER = {"name": "ТОВ Демо", "phone": "380501234567", "city_ref": "8d5a980d-391c-11dd-90d9-001a92567626",
          "counterparty_ref": "sender-ref", "address_ref": "address-ref", "contact_ref": "contact-ref"}


def tracking_shop(tmp_path: Path, **fulfilment) -> ShopSettings:
    """The test shop with a Nova Poshta account and the given `fulfilment:` settings."""
    settings = shop_settings(tmp_path / "inbox", SHOP)
    return ShopSettings.model_validate({
        **settings.model_dump(),
        "carriers": [{"kind": "nova_poshta", "conn_id": "nova_poshta_test", "sender": SENDER}],
        "fulfilment": fulfilment,
    })


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


def invoice(engine, invoice_id: int) -> tuple:
    """(status, payment_status, needs_attention, attention_reasons) of an invoice."""
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT status, payment_status, needs_attention, attention_reasons FROM invoices WHERE id = :i"),
            {"i": invoice_id}).one())


def on_hand(engine, good_id: int, warehouse_id: int) -> Decimal:
    return scalar(engine, "SELECT on_hand FROM stock WHERE good_id = :g AND warehouse_id = :w",
                  g=good_id, w=warehouse_id)
