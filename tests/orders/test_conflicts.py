"""An order number sent again: the same content is skipped, other content is a conflict a person sees.

The invoice always keeps the first version; the second is recorded with both versions in order_conflicts,
flags the invoice, is counted in the file's and the run's summary and listed by `shopsync orders`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from orderdata import SHOP, TODAY, WAREHOUSES, active_reserved, count, customer, execute, line, order, rows, scalar
from test_ingest import drop, run_inbox, shop_settings, torgsoft_order

from shopsync.orders.apply import apply_order
from shopsync.orders.workflow import resolve_conflict


def apply(engine, the_order, **kwargs):
    return apply_order(engine, SHOP, the_order, WAREHOUSES, None, TODAY, **kwargs)


def conflicts(engine) -> list:
    return rows(engine, "SELECT * FROM order_conflicts ORDER BY id")


def invoice(engine, invoice_id):
    return rows(engine, "SELECT * FROM invoices WHERE id = :i", i=invoice_id)[0]


def test_other_content_is_recorded_with_both_versions_and_the_invoice_keeps_the_first(shop_db):
    first = apply(shop_db, order("R-1", [line(101, "1")]))
    second = apply(shop_db, order("R-1", [line(101, "2")]))
    assert (first.status, second.status) == ("applied", "conflict")
    [conflict] = conflicts(shop_db)
    assert second.conflict_id == conflict.id and second.invoice_id == first.invoice_id
    assert (conflict.shop_id, conflict.external_number, conflict.invoice_id) == (SHOP, "R-1", first.invoice_id)
    assert conflict.differs == ["lines"]
    assert conflict.first_content["lines"][0]["quantity"] == "1"
    assert conflict.new_content["lines"][0]["quantity"] == "2"
    stored = invoice(shop_db, first.invoice_id)
    assert conflict.first_digest == stored.content_digest != conflict.new_digest
    assert (conflict.resolved, conflict.times_seen) == (False, 1)
    assert second.reasons == [conflict.attention_reason]
    assert f"conflict {conflict.id}" in conflict.attention_reason
    assert "keeps the first version" in conflict.attention_reason
    assert stored.needs_attention and stored.attention_reasons == [conflict.attention_reason]
    assert active_reserved(shop_db, first.invoice_id) == [(101, 1, 1)]           # still the first version
    assert scalar(shop_db, "SELECT quantity FROM invoice_lines WHERE invoice_id = :i", i=first.invoice_id) == 1


def test_the_same_second_version_again_is_counted_not_recorded_twice(shop_db):
    first = apply(shop_db, order("R-2", [line(101, "1")]))
    apply(shop_db, order("R-2", [line(101, "2")]))
    again = apply(shop_db, order("R-2", [line(101, "2")]))
    assert again.status == "conflict"
    assert [(c.times_seen, c.id) for c in conflicts(shop_db)] == [(2, again.conflict_id)]
    assert len(invoice(shop_db, first.invoice_id).attention_reasons) == 1
    third = apply(shop_db, order("R-2", [line(101, "3")]))
    assert third.status == "conflict" and third.conflict_id != again.conflict_id
    assert count(shop_db, "order_conflicts") == 2


@pytest.mark.parametrize(("changes", "part"), [
    ({"lines": [line(101, "1", "1400")]}, "lines"),                 # price
    ({"lines": [line(102, "1")]}, "lines"),                         # another good
    ({"lines": [line(101, "1"), line(102, "1")]}, "lines"),         # one more line
    ({"buyer": customer(full_name="Інна Коваль")}, "customer"),
    ({"buyer": customer(phone="050 123 45 67")}, "customer"),
    ({"buyer": customer(email="someone@example.com")}, "customer"),
    ({"payment_status": "paid"}, "payment"),
    ({"delivery_address": "вул. Інша, 5"}, "delivery"),
    ({"gift_certificates": ["GC-VALID"]}, "gift_certificates"),
    ({"bonus_pay": Decimal(10)}, "bonus_pay"),
    ({"currency": "USD"}, "currency"),
])
def test_each_kind_of_difference_is_a_conflict(shop_db, changes, part):
    base = {"lines": [line(101, "1")], "buyer": customer(), "delivery_address": "вул. Хрещатик, 1"}
    apply(shop_db, order("R-3", **base))
    result = apply(shop_db, order("R-3", **{**base, **changes}))
    assert result.status == "conflict"
    assert conflicts(shop_db)[0].differs == [part]


def test_the_same_content_written_differently_is_skipped(shop_db):
    first = apply(shop_db, order(
        "R-4", [line(101, "2", "1500"), line(102, "1", "2200")],
        customer(phone="0675746830", full_name="Олена Петренко", city="Київ", email="olena@example.com"),
        delivery_city="Львів", delivery_branch="Відділення 3", comment="до 18:00", payment_method="card"))
    again = apply(shop_db, order(
        "R-4", [line(102, "1.000", "2200.00"), line(101, "2.0", "1.5E+3")],          # other order, other spelling
        customer(phone="+38 (067) 574-68-30", full_name="  олена   ПЕТРЕНКО ", city=" київ",
                 email=" Olena@Example.com "),
        delivery_city="ЛЬВІВ ", delivery_branch="відділення  3", comment="інший коментар", payment_method="Card",
        order_date=datetime(2025, 6, 1, 12, 0), warnings=["a parser's remark"]))
    assert (first.status, again.status) == ("applied", "skipped")
    assert again.reasons == [f"order R-4 is already invoice {first.invoice_id}"]
    assert count(shop_db, "order_conflicts") == 0
    assert not invoice(shop_db, first.invoice_id).needs_attention


def test_an_invoice_from_before_content_digests_is_skipped_as_before(shop_db):
    first = apply(shop_db, order("R-5", [line(101, "1")]))
    execute(shop_db, "UPDATE invoices SET content_digest = NULL, content = NULL WHERE id = :i", i=first.invoice_id)
    assert apply(shop_db, order("R-5", [line(101, "2")])).status == "skipped"
    assert count(shop_db, "order_conflicts") == 0


def test_resolving_takes_the_conflict_off_the_invoice_and_the_same_version_is_then_skipped(shop_db):
    first = apply(shop_db, order("R-6", [line(101, "7")]))                  # short of stock: flagged already
    shortage = list(first.reasons)
    conflict = apply(shop_db, order("R-6", [line(101, "8")]))
    assert invoice(shop_db, first.invoice_id).attention_reasons == shortage + conflict.reasons
    with shop_db.begin() as conn:
        assert resolve_conflict(conn, SHOP, conflict.conflict_id, "called the buyer: 7 is right") == first.invoice_id
    stored = invoice(shop_db, first.invoice_id)
    assert (stored.needs_attention, stored.attention_reasons) == (True, shortage)
    resolved = conflicts(shop_db)[0]
    assert resolved.resolved and resolved.resolution == "called the buyer: 7 is right" and resolved.resolved_at
    again = apply(shop_db, order("R-6", [line(101, "8")]))
    assert again.status == "skipped" and "resolved" in again.reasons[0]

    clean = apply(shop_db, order("R-7", [line(102, "1")]))
    other = apply(shop_db, order("R-7", [line(102, "2")]))
    with shop_db.begin() as conn:
        resolve_conflict(conn, SHOP, other.conflict_id, "ok")
    assert not invoice(shop_db, clean.invoice_id).needs_attention


def test_a_dry_run_of_a_conflicting_resend_records_nothing(shop_db):
    apply(shop_db, order("R-8", [line(101, "1")]))
    assert apply(shop_db, order("R-8", [line(101, "2")]), dry_run=True).status == "conflict"
    assert count(shop_db, "order_conflicts") == 0


def test_an_ingest_counts_and_lists_conflicts_and_archives_the_file(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    shop = shop_settings(inbox)
    drop(inbox, "first.json", [torgsoft_order("S-1"), torgsoft_order("S-2", good_id=102)])
    run_inbox(shop_db, shop)
    same = torgsoft_order("S-1")
    same["Goods"][0]["Price"] = "1500.00"                     # written differently: not a difference
    same = {key: same[key] for key in reversed(list(same))}    # keys in another order
    changed = torgsoft_order("S-2", good_id=102, count_="3")
    drop(inbox, "second.json", [same, changed])
    summary = run_inbox(shop_db, shop)
    [outcome] = summary.files
    assert (outcome.skipped, outcome.conflicts, outcome.applied, outcome.flagged) == (1, 1, 0, 0)
    assert "1 sent again with other content (conflicts)" in outcome.summary_line()
    assert summary.counts()["conflicts"] == 1
    conflict_id = scalar(shop_db, "SELECT id FROM order_conflicts")
    [listed] = summary.conflicts()
    assert (listed["file"], listed["order_number"], listed["conflict_id"]) == ("second.json", "S-2", conflict_id)
    assert (inbox / "archive" / "second.json").exists()
    assert "in second.json" in scalar(shop_db, "SELECT attention_reason FROM order_conflicts")
    details = scalar(shop_db, "SELECT details FROM order_files WHERE file_name = 'second.json'")
    assert [o["status"] for o in details["orders"]] == ["skipped", "conflict"]
    counted = rows(shop_db, "SELECT orders_total, skipped, conflicts FROM order_files WHERE file_name = 'second.json'")
    assert tuple(counted[0]) == (2, 1, 1)


def test_the_demo_run_again_resends_the_same_orders(shop_db, tmp_path):
    from shopsync.core.config import get_shop
    from shopsync.demo import goods_in_stock, goods_of_earlier_demo_orders, sample_orders

    demo = get_shop("demo")
    shop = shop_settings(tmp_path / "inbox")
    assert goods_of_earlier_demo_orders(shop_db, demo) == []
    execute(shop_db, "UPDATE stock SET on_hand = 1 WHERE good_id = 101")   # 2 free: 1 after the first run
    drop(tmp_path / "inbox", "first.json", sample_orders(goods_in_stock(shop_db, demo)))
    assert run_inbox(shop_db, shop).counts()["applied"] == 3
    again = goods_of_earlier_demo_orders(shop_db, demo)
    assert again != goods_in_stock(shop_db, demo)              # free stock moved: the first choice would change
    drop(tmp_path / "inbox", "again.json", sample_orders(again))
    counts = run_inbox(shop_db, shop).counts()
    assert (counts["skipped"], counts["conflicts"]) == (3, 0)


def test_the_ingest_task_returns_the_conflicts(shop_db, db_url, tmp_path, monkeypatch):
    from shopsync.airflow.tasks import ingest_run

    inbox = tmp_path / "inbox"
    shop = shop_settings(inbox)
    shops = tmp_path / "shops"
    shops.mkdir()
    (shops / "demo.yaml").write_text(json.dumps(shop.model_dump(mode="json")), encoding="utf-8")
    monkeypatch.setenv("SHOPSYNC_SHOPS_DIR", str(shops))
    drop(inbox, "a.json", [torgsoft_order("T-1")])
    drop(inbox, "b.json", [torgsoft_order("T-1", count_="2")])
    context = {"dag_run": SimpleNamespace(run_type="scheduled"), "params": {}}
    returned = ingest_run("demo", shop_db, context)
    assert returned["counts"]["conflicts"] == 1
    assert [(c["file"], c["order_number"]) for c in returned["conflicts"]] == [("b.json", "T-1")]


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shopsync.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "SHOPSYNC_DB_URL": db_url}, timeout=120)


def test_shopsync_orders_shows_open_conflicts_and_resolves_them(shop_db, db_url):
    apply(shop_db, order("U-1", [line(101, "1")]))
    conflict = apply(shop_db, order("U-1", [line(101, "2")], payment_status="paid"))
    apply(shop_db, order("U-2", [line(102, "1")]))

    listed = cli(db_url, "orders", "--shop", "demo")
    assert listed.returncode == 0, listed.stderr
    assert "needs attention: 1 order(s) sent again with other content" in listed.stdout
    assert f"conflict {conflict.conflict_id}: order U-1 (invoice {conflict.invoice_id})" in listed.stdout
    assert "different lines, payment" in listed.stdout
    attention = cli(db_url, "orders", "--shop", "demo", "--attention")
    assert " U-1 " in attention.stdout and " U-2 " not in attention.stdout

    resolved = cli(db_url, "orders", "--shop", "demo", "--resolve-conflict", str(conflict.conflict_id))
    assert resolved.returncode == 0, resolved.stderr
    assert "needs attention" not in cli(db_url, "orders", "--shop", "demo").stdout
    again = cli(db_url, "orders", "--shop", "demo", "--resolve-conflict", str(conflict.conflict_id))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip() == f"shopsync: error: shop demo: no open conflict {conflict.conflict_id}"


def test_cli_ingest_shows_a_conflicting_resend(shop_db, db_url, tmp_path):
    path = Path(tmp_path / "o.json")
    path.write_text(json.dumps([torgsoft_order("V-1")]), encoding="utf-8")
    assert cli(db_url, "ingest", "--shop", "demo", str(path)).returncode == 0
    path.write_text(json.dumps([torgsoft_order("V-1", count_="2")]), encoding="utf-8")
    second = cli(db_url, "ingest", "--shop", "demo", str(path))
    assert second.returncode == 0, second.stderr
    assert "order V-1: conflict: order V-1 was sent again in o.json with different lines" in second.stdout
    assert "1 conflicts" in second.stdout
