"""Whole files through the inbox: nothing lost, nothing doubled, bad files quarantined with reasons."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from orderdata import GOODS, count, free, rows, scalar

from shopsync.core.config import ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING
from shopsync.orders.apply_file import ingest_bytes
from shopsync.orders.inbox import open_inbox
from shopsync.orders.ingest import ingest_inbox
from shopsync.orders.replay import reapply_interval, replay_quarantined

CORPUS = Path(__file__).parent / "corpus"
OLD = 1_000_000_000  # an mtime far in the past: the inbox's settle time never holds these back
NO_WAIT_BETWEEN_LOOKS = DEFAULT_TUNING.but(settle_check_seconds=0)


def shop_settings(inbox: Path, shop_id: str = "demo") -> ShopSettings:
    return ShopSettings.model_validate({
        "id": shop_id, "name": "Тест", "url": "https://test.example", "warehouses": [1, 2, 3],
        "feeds": [{"profile": "yml"}], "destination": {"kind": "local", "path": str(inbox.parent / "out")},
        "orders_inbox": {"kind": "local", "path": str(inbox), "settle_seconds": 0},
    })


def torgsoft_order(number: str, good_id: int = 101, count_: str = "1", phone: str = "0501234567") -> dict:
    """One Torgsoft JSON order, at the good's retail price (written as the format does, "1500,00")."""
    price = GOODS[good_id][3].replace(".", ",") if good_id in GOODS else "100,00"
    return {
        "Client": {"Name": "Коваленко Ірина", "MPhone": phone, "Місто": "Львів", "EMail": ""},
        "Options": {"OrderNumber": number, "DeliveryAddress": "Відділення №3", "PaymentStatus": "cod"},
        "Goods": [{"GoodID": str(good_id), "Price": price, "Count": count_}],
    }


def drop(inbox: Path, name: str, content: bytes | list | dict) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    data = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode()
    path.write_bytes(data)
    os.utime(path, (OLD, OLD))
    return path


def run_inbox(engine, shop: ShopSettings):
    inbox = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS)
    try:
        return ingest_inbox(engine, shop, inbox)
    finally:
        inbox.close()


def test_same_file_twice_gives_one_invoice_per_order(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    orders = [torgsoft_order("A-1"), torgsoft_order("A-2", good_id=102)]
    drop(tmp_path / "inbox", "orders.json", orders)
    first = run_inbox(shop_db, shop)
    drop(tmp_path / "inbox", "orders.json", orders)
    second = run_inbox(shop_db, shop)
    assert first.counts()["applied"] == 2
    assert second.counts()["skipped"] == 2 and second.counts()["applied"] == 0
    assert count(shop_db, "invoices") == 2
    archived = sorted(p.name for p in (tmp_path / "inbox" / "archive").iterdir())
    assert len(archived) == 2, archived                    # the re-sent file is kept too, under a new name
    assert not list((tmp_path / "inbox").glob("*.json"))


def test_same_order_in_two_files_lands_once(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    drop(tmp_path / "inbox", "a.json", [torgsoft_order("B-1", count_="2")])
    drop(tmp_path / "inbox", "b.json", [torgsoft_order("B-1", count_="2"), torgsoft_order("B-2")])
    summary = run_inbox(shop_db, shop)
    assert summary.counts()["applied"] == 2 and summary.counts()["skipped"] == 1
    assert scalar(shop_db, "SELECT count(*) FROM invoices WHERE external_number = 'B-1'") == 1
    reserved = scalar(shop_db, "SELECT sum(quantity) FROM reservations WHERE status = 'active'")
    assert reserved == 3


def test_good_orders_land_beside_bad_ones_and_the_file_is_quarantined_with_reasons(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    good = torgsoft_order("C-1")
    no_number = torgsoft_order("")
    drop(tmp_path / "inbox", "mixed.json", [good, no_number, "not an order"])
    summary = run_inbox(shop_db, shop)
    assert summary.counts()["applied"] == 1 and summary.counts()["rejected"] == 2
    quarantine = tmp_path / "inbox" / "quarantine"
    report = json.loads((quarantine / "mixed.json.error.json").read_text(encoding="utf-8"))
    assert (quarantine / "mixed.json").exists()
    assert [o["position"] for o in report["orders_rejected"]] == [2, 3]
    assert all(o["reasons"] for o in report["orders_rejected"])
    assert report["orders_landed"][0]["order_number"] == "C-1"
    file_row = rows(shop_db, "SELECT status, applied, rejected, stored_as FROM order_files")[0]
    assert tuple(file_row) == ("quarantined", 1, 2, "quarantine/mixed.json")


def test_every_corpus_file_ends_with_a_clear_outcome(shop_db, tmp_path):
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in expected:
        shutil.copy(CORPUS / name, inbox / name)
        os.utime(inbox / name, (OLD, OLD))
    summary = run_inbox(shop_db, shop_settings(inbox))
    outcomes = {outcome.file_name: outcome for outcome in summary.files}
    assert set(outcomes) == set(expected)
    for name, want in expected.items():
        outcome = outcomes[name]
        if "unreadable" in want:
            assert outcome.unreadable and want["unreadable"] in outcome.unreadable, name
            report = json.loads((inbox / "quarantine" / f"{name}.error.json").read_text(encoding="utf-8"))
            assert want["unreadable"] in report["reason"]
            continue
        landed = outcome.applied + outcome.flagged + outcome.skipped
        assert landed == want["orders"], name
        assert outcome.rejected >= want["rejected"], name
        where = "quarantine" if outcome.rejected else "archive"
        assert (inbox / where / name).exists(), name
    assert not [p for p in inbox.iterdir() if p.is_file()]          # nothing left behind, nothing lost


def test_dry_run_changes_nothing(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    before = {table: count(shop_db, table) for table in ("invoices", "reservations", "customers", "order_files")}
    outcome = ingest_bytes(shop_db, shop, "x.json", json.dumps([torgsoft_order("D-1")]).encode(), dry_run=True)
    assert outcome.applied == 1
    after = {table: count(shop_db, table) for table in before}
    assert before == after


KILLABLE_INGEST = """
import sys
from pathlib import Path
import sqlalchemy as sa
from shopsync.orders.apply_file import ingest_bytes
from test_ingest import shop_settings
engine = sa.create_engine(sys.argv[1])
path = Path(sys.argv[2])
ingest_bytes(engine, shop_settings(path.parent), path.name, path.read_bytes())
"""


def backends(engine) -> set[int]:
    """Server processes connected to the test database."""
    found = rows(engine, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return {row.pid for row in found}


def wait_for_backends_to_end(engine, known: set[int], timeout: float = 30) -> None:
    """Until only `known` server processes (and the one asking) are left on the test database."""
    deadline = time.monotonic() + timeout
    while backends(engine) - known - {scalar(engine, "SELECT pg_backend_pid()")}:
        assert time.monotonic() < deadline, "the killed run's server process did not end"
        time.sleep(0.05)


@pytest.mark.slow
def test_run_killed_in_the_middle_of_a_file_then_run_again_loses_and_doubles_nothing(shop_db, db_url, tmp_path):
    # enough orders that the pipelined ingest (~1-2 ms an order) is still running when the test kills it
    total = 3000
    orders = [torgsoft_order(f"K-{n:04d}", good_id=103, phone=f"050{n:07d}") for n in range(total)]
    path = drop(tmp_path / "inbox", "big.json", orders)
    # this checkout's package first (not whichever copy the virtualenv has installed), then the test helpers
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), str(Path(__file__).parent)])}
    before = backends(shop_db)
    worker = subprocess.Popen([sys.executable, "-c", KILLABLE_INGEST, db_url, str(path)], env=env)
    deadline = time.monotonic() + 60
    while scalar(shop_db, "SELECT count(*) FROM invoices") < 40 and time.monotonic() < deadline:
        assert worker.poll() is None, "the ingest finished before it could be killed"
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    wait_for_backends_to_end(shop_db, known=before)    # orders already sent are still applied, each on its own
    landed_before = scalar(shop_db, "SELECT count(*) FROM invoices")
    assert 40 <= landed_before < total
    assert path.exists()                                   # the file was not moved: it will be processed again

    summary = run_inbox(shop_db, shop_settings(tmp_path / "inbox"))
    counts = summary.counts()
    assert scalar(shop_db, "SELECT count(*) FROM invoices") == total
    assert scalar(shop_db, "SELECT count(DISTINCT external_number) FROM invoices") == total
    assert counts["skipped"] == landed_before and counts["applied"] + counts["flagged"] == total - landed_before
    reserved = scalar(shop_db, "SELECT coalesce(sum(quantity), 0) FROM reservations WHERE status = 'active'")
    assert reserved == scalar(shop_db, "SELECT sum(on_hand) FROM stock WHERE good_id = 103") - free(shop_db, 103)
    assert rows(shop_db, "SELECT status FROM order_files")[0].status == "archived"
    assert count(shop_db, "order_files") == 1            # the killed run's receipt was re-used, not doubled


def test_replaying_a_fixed_quarantined_file_lands_the_rest_once(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    bad = torgsoft_order("E-2")
    bad["Goods"][0]["Count"] = {"oops": 1}                      # wrong type: this order is rejected
    drop(tmp_path / "inbox", "e.json", [torgsoft_order("E-1"), bad])
    assert run_inbox(shop_db, shop).counts()["rejected"] == 1

    fixed = json.dumps([torgsoft_order("E-1"), torgsoft_order("E-2")]).encode()
    inbox = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS)
    try:
        outcome = replay_quarantined(shop_db, shop, inbox, "e.json", fixed)
    finally:
        inbox.close()
    assert (outcome.applied, outcome.skipped, outcome.rejected) == (1, 1, 0)
    assert scalar(shop_db, "SELECT count(*) FROM invoices") == 2
    assert (tmp_path / "inbox" / "archive" / "e.json").read_bytes() == fixed
    assert not list((tmp_path / "inbox" / "quarantine").iterdir())


def test_a_backfill_reapplies_the_archived_files_of_its_interval(shop_db, tmp_path):
    shop = shop_settings(tmp_path / "inbox")
    drop(tmp_path / "inbox", "f.json", [torgsoft_order("F-1"), torgsoft_order("F-2", good_id=102)])
    started = datetime.now(UTC) - timedelta(minutes=1)
    run_inbox(shop_db, shop)
    with shop_db.begin() as conn:                         # an order lost after the fact (e.g. a restore)
        conn.execute(sa.text("DELETE FROM invoices WHERE external_number = 'F-2'"))

    inbox = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS)
    try:
        again = reapply_interval(shop_db, shop, inbox, started, datetime.now(UTC) + timedelta(minutes=1))
    finally:
        inbox.close()
    assert again.counts()["skipped"] == 1 and again.counts()["applied"] == 1
    assert scalar(shop_db, "SELECT count(*) FROM invoices") == 2


def test_cli_ingest_prints_per_file_results_and_dry_run_changes_nothing(shop_db, db_url, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([torgsoft_order("G-1"), torgsoft_order("G-2", good_id=999)]), encoding="utf-8")
    env = {**os.environ, "SHOPSYNC_DB_URL": db_url}
    dry = subprocess.run([sys.executable, "-m", "shopsync.cli", "ingest", "--shop", "demo", "--dry-run", str(path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "[dry run]" in dry.stdout and "1 applied" in dry.stdout and "1 flagged" in dry.stdout
    assert count(shop_db, "invoices") == 0
    real = subprocess.run([sys.executable, "-m", "shopsync.cli", "ingest", "--shop", "demo", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "order G-2: flagged" in real.stdout
    assert count(shop_db, "invoices") == 2
