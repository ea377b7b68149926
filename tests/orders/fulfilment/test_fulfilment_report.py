"""The fulfilment report: what shipped since a moment, what waits and why, what is stuck, COD still owed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderdata import SHOP, TODAY, WAREHOUSES, execute, line, order

from shopsync.core.config import ShopSettings
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order
from shopsync.orders.fulfilment.report import fulfilment_report
from shopsync.orders.fulfilment.run import moved_invoices, returned_goods

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def settings(stuck_days: int = 5) -> ShopSettings:
    return ShopSettings.model_validate({
        "id": SHOP, "name": "Тест", "url": "https://test.example", "feeds": [{"profile": "yml"}],
        "destination": {"kind": "local", "path": "/tmp/unused"}, "orders_inbox": {"kind": "local", "path": "/tmp/in"},
        "fulfilment": {"stuck_days": stuck_days},
    })


def shipped(engine, number: str, waybill: str, cod: str | None, shipped_at: datetime,
            changed_at: datetime | None = None, delivery_state: str | None = "in_transit") -> int:
    invoice_id = apply_order(engine, SHOP, order(number, [line(101, "1")]), WAREHOUSES, None, TODAY).invoice_id
    with engine.begin() as conn:
        note_id = workflow.ship(conn, invoice_id, "nova_poshta", waybill)
    execute(engine, "UPDATE delivery_notes SET shipped_at = :at WHERE id = :n", at=shipped_at, n=note_id)
    execute(engine, "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, waybill_number,"
                    " cod_amount, delivery_state, status_changed_at, delivery_note_id)"
                    " VALUES (:s, :i, 'nova_poshta', 'created', :k, :w, :cod, :state, :changed, :n)",
            s=SHOP, i=invoice_id, k=f"{SHOP}-{number}", w=waybill, cod=Decimal(cod) if cod else None,
            state=delivery_state, changed=changed_at, n=note_id)
    return invoice_id


def test_the_report_lists_what_shipped_since_the_run_began_and_the_cod_owed(shop_db):
    shipped(shop_db, "R-1", "20450000000001", "1500.00", NOW - timedelta(days=2), NOW - timedelta(days=1))
    shipped(shop_db, "R-2", "20450000000002", "250.50", NOW - timedelta(minutes=5))
    shipped(shop_db, "R-3", "20450000000003", None, NOW - timedelta(minutes=4))

    with shop_db.connect() as conn:
        report = fulfilment_report(conn, settings(), since=NOW - timedelta(hours=1), now=NOW)

    assert [row["number"] for row in report.shipped] == ["R-2", "R-3"]
    assert report.shipped[0] == {"number": "R-2", "carrier": "nova_poshta", "waybill": "20450000000002",
                                 "cod": "250.50"}
    assert report.cod_outstanding == "1750.50" and report.cod_outstanding_shipments == 2
    assert report.stuck == []


def test_a_parcel_without_a_status_change_for_stuck_days_is_stuck_and_a_paid_one_owes_nothing(shop_db):
    shipped(shop_db, "S-1", "20450000000011", "100.00", NOW - timedelta(days=9), NOW - timedelta(days=6))
    shipped(shop_db, "S-2", "20450000000012", "100.00", NOW - timedelta(days=9), NOW - timedelta(days=6),
            delivery_state="cod_paid")
    execute(shop_db, "UPDATE shipments SET cod_paid_at = :at, cod_paid_amount = 100 WHERE waybill_number = :w",
            at=NOW, w="20450000000012")
    shipped(shop_db, "S-3", "20450000000013", None, NOW - timedelta(days=3), None)

    with shop_db.connect() as conn:
        report = fulfilment_report(conn, settings(stuck_days=5), now=NOW)
        stricter = fulfilment_report(conn, settings(stuck_days=2), now=NOW)

    assert report.stuck == [{"number": "S-1", "waybill": "20450000000011", "state": "in_transit", "days": 6}]
    assert [row["number"] for row in stricter.stuck] == ["S-1", "S-3"]
    assert report.cod_outstanding == "100.00" and report.cod_outstanding_shipments == 1
    assert any("stuck: 1" in text and "S-1: 20450000000011 in_transit for 6 day(s)" in text for text in report.lines())


def test_ready_invoices_wait_with_their_reason(shop_db):
    invoice_id = apply_order(shop_db, SHOP, order("W-1", [line(101, "1")]), WAREHOUSES, None, TODAY).invoice_id
    execute(shop_db, "UPDATE invoices SET status = 'ready' WHERE id = :i", i=invoice_id)
    execute(shop_db, "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, last_error)"
                     " VALUES (:s, :i, 'nova_poshta', 'failed', 'k-1', 'no branch №999 in Київ')",
            s=SHOP, i=invoice_id)

    with shop_db.connect() as conn:
        report = fulfilment_report(conn, settings(), now=NOW)

    assert report.waiting == [{"number": "W-1", "state": "failed", "reason": "no branch №999 in Київ"}]


def test_a_run_that_moved_invoices_or_returned_goods_says_so():
    assert moved_invoices({"shipped": [["A", "1"]]}, {"delivered": 2, "cod_paid": [], "refused": 0}) == 3
    assert moved_invoices(None, None) == 0
    assert returned_goods({"returned": [["B", "2"]]}) == 1 and returned_goods({"returned": 0}) == 0
