"""The inbox's promises about bad files: one file never blocks the others, bounds come before work, only
regular files are taken, uploads still going on wait, cut-off files are taken again when they change."""

from __future__ import annotations

import decimal
import json
import logging
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from orderdata import count, rows, scalar
from test_ingest import NO_WAIT_BETWEEN_LOOKS, OLD, drop, run_inbox, shop_settings, torgsoft_order

from shopsync.core.tuning import DEFAULT_TUNING
from shopsync.orders import apply_file, formats
from shopsync.orders.formats import MAX_FILE_BYTES, limits
from shopsync.orders.inbox import Inbox, InboxError, open_inbox
from shopsync.orders.ingest import ingest_inbox
from shopsync.orders.outcome import sha256_of

ATTEMPTS_BEFORE_QUARANTINE = DEFAULT_TUNING.order_file_attempts


def report_of(inbox: Path, name: str) -> dict:
    return json.loads((inbox / "quarantine" / f"{name}.error.json").read_text(encoding="utf-8"))


def inbox_files(inbox: Path) -> list[str]:
    return sorted(path.name for path in inbox.iterdir() if path.is_file())


# -- one file never blocks the others ---------------------------------------------------------------------


@pytest.mark.parametrize("error", [
    decimal.Overflow("above Emax"), decimal.InvalidOperation("quantize"), MemoryError(),
    RecursionError("maximum recursion depth exceeded"), KeyError("Goods"),
    UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"),
])
def test_any_unexpected_error_in_one_file_quarantines_it_and_the_next_file_lands(shop_db, tmp_path, monkeypatch,
                                                                                   error):
    inbox = tmp_path / "inbox"
    drop(inbox, "a_bad.json", [torgsoft_order("X-1")])
    drop(inbox, "b_good.json", [torgsoft_order("X-2")])
    real_parse = apply_file.parse_order_file

    def parse(data, file_name, fmt="auto"):
        if file_name == "a_bad.json":
            raise error
        return real_parse(data, file_name, fmt)

    monkeypatch.setattr(apply_file, "parse_order_file", parse)
    summary = run_inbox(shop_db, shop_settings(inbox))

    assert [(o.file_name, o.quarantined) for o in summary.files] == [("a_bad.json", True), ("b_good.json", False)]
    assert type(error).__name__ in report_of(inbox, "a_bad.json")["reason"]
    assert (inbox / "archive" / "b_good.json").exists()
    assert scalar(shop_db, "SELECT external_number FROM invoices") == "X-2"
    assert inbox_files(inbox) == []


def test_an_index_row_too_large_for_postgresql_rejects_that_order_only(shop_db, tmp_path, monkeypatch):
    # with the order number's length limit lifted, the database itself refuses one too long for its index
    real_limit_problems = formats.limit_problems

    def limits_but_the_order_number(order):
        return [problem for problem in real_limit_problems(order) if not problem.startswith("the order number")]

    monkeypatch.setattr(formats, "limit_problems", limits_but_the_order_number)
    chance = random.Random(7)
    huge_number = "".join(chr(chance.randrange(0x4E00, 0x9FFF)) for _ in range(3000))   # 9 KB, incompressible
    inbox = tmp_path / "inbox"
    drop(inbox, "a.json", [torgsoft_order("Y-1"), torgsoft_order(huge_number), torgsoft_order("Y-3")])
    drop(inbox, "b.json", [torgsoft_order("Y-4")])

    summary = run_inbox(shop_db, shop_settings(inbox))

    first = summary.files[0]
    assert (first.applied, first.rejected) == (2, 1)
    [refused] = report_of(inbox, "a.json")["orders_rejected"]
    assert "ProgramLimitExceeded" in refused["reasons"][0] and len(refused["reasons"][0]) < 600
    assert sorted(row.external_number for row in rows(shop_db, "SELECT external_number FROM invoices")) == [
        "Y-1", "Y-3", "Y-4"]
    assert (inbox / "archive" / "b.json").exists()


def test_an_over_long_order_number_is_a_clear_problem_of_that_order(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "a.json", [torgsoft_order("Z-1"), torgsoft_order("9" * 5000)])

    summary = run_inbox(shop_db, shop_settings(inbox))

    assert (summary.files[0].applied, summary.files[0].rejected) == (1, 1)
    [refused] = report_of(inbox, "a.json")["orders_rejected"]
    assert refused["reasons"] == ["the order number is 5,000 characters long; the limit is 100"]
    assert len(refused["order_number"]) == limits.MAX_ORDER_NUMBER


def test_a_file_name_that_is_not_utf8_is_quarantined_and_the_others_land(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "good.json", [torgsoft_order("N-1")])
    odd = os.fsencode(inbox) + b"/orders-\xff\xfe.json"
    with open(odd, "wb") as stream:
        stream.write(json.dumps([torgsoft_order("N-2")]).encode())
    os.utime(odd, (OLD, OLD))

    summary = run_inbox(shop_db, shop_settings(inbox))

    by_name = {o.file_name: o for o in summary.files}
    assert set(by_name) == {"good.json", "orders-\\xff\\xfe.json"}
    odd_outcome = by_name["orders-\\xff\\xfe.json"]
    assert odd_outcome.quarantined and "not valid UTF-8" in odd_outcome.unreadable
    assert os.path.exists(os.fsencode(inbox) + b"/quarantine/orders-\xff\xfe.json")
    report = json.loads(open(os.fsencode(inbox) + b"/quarantine/orders-\xff\xfe.json.error.json", "rb").read())
    assert "rename the file" in report["reason"]
    assert scalar(shop_db, "SELECT string_agg(external_number, ',') FROM invoices") == "N-1"
    assert inbox_files(inbox) == []


def test_a_lost_database_connection_fails_the_run_and_keeps_the_file_until_it_failed_too_often(
        shop_db, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    drop(inbox, "a.json", [torgsoft_order("L-1")])
    os.utime(inbox / "a.json", (OLD - 10, OLD - 10))                   # the older file: taken first
    drop(inbox, "b.json", [torgsoft_order("L-2")])
    shop = shop_settings(inbox)
    real_apply = apply_file.apply_orders

    def apply_losing_the_connection(engine, shop_id, orders, *args, **kwargs):
        orders = list(orders)
        if orders[0].external_number == "L-1":
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real_apply(engine, shop_id, orders, *args, **kwargs)

    monkeypatch.setattr(apply_file, "apply_orders", apply_losing_the_connection)
    for attempt in range(1, ATTEMPTS_BEFORE_QUARANTINE + 1):
        with pytest.raises(psycopg.OperationalError):
            run_inbox(shop_db, shop)
        assert inbox_files(inbox) == ["a.json", "b.json"]                # the run failed; nothing moved
        row = rows(shop_db, "SELECT status, attempts, last_error FROM order_files")[0]
        assert (row.status, row.attempts) == ("processing", attempt)
        assert "server closed the connection" in row.last_error

    summary = run_inbox(shop_db, shop)                                   # one attempt too many: set aside

    assert [(o.file_name, o.quarantined) for o in summary.files] == [("a.json", True), ("b.json", False)]
    reason = report_of(inbox, "a.json")["reason"]
    assert f"started {ATTEMPTS_BEFORE_QUARANTINE} times" in reason and "server closed the connection" in reason
    assert count(shop_db, "order_files") == 2                            # the receipt was re-used each time


def test_a_run_killed_on_a_file_counts_as_an_attempt(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "a.json", [torgsoft_order("K-1")])
    shop = shop_settings(inbox)
    with shop_db.begin() as conn:                                       # what killed runs leave behind
        conn.exec_driver_sql(
            "INSERT INTO order_files (shop_id, file_name, sha256, status, attempts) VALUES (%s, %s, %s, %s, %s)",
            ("demo", "a.json", sha256_of((inbox / "a.json").read_bytes()), "processing", ATTEMPTS_BEFORE_QUARANTINE))

    summary = run_inbox(shop_db, shop)

    assert summary.files[0].quarantined
    assert "killed or out of memory" in report_of(inbox, "a.json")["reason"]
    assert count(shop_db, "invoices") == 0


# -- bounds before work -----------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_quarantined_without_being_read(shop_db, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    orders = json.dumps([torgsoft_order(f"B-{n}") for n in range(20)]).encode()
    drop(inbox, "big.json", orders + b" " * (MAX_FILE_BYTES + 1 - len(orders)))     # valid orders, 1 byte too many
    drop(inbox, "small.json", [torgsoft_order("S-1")])
    reads: list[str] = []
    real_read = Inbox.read

    def counting_read(self, name, max_bytes=None):
        reads.append(name)
        return real_read(self, name, max_bytes)

    monkeypatch.setattr(Inbox, "read", counting_read)
    summary = run_inbox(shop_db, shop_settings(inbox))

    assert reads == ["small.json"]
    big = next(o for o in summary.files if o.file_name == "big.json")
    assert big.quarantined and big.sha256 == "not read"
    assert "the file is too large" in report_of(inbox, "big.json")["reason"]
    assert scalar(shop_db, "SELECT string_agg(external_number, ',') FROM invoices") == "S-1"


# -- only regular files -------------------------------------------------------------------------------------


def test_symlinks_and_fifos_in_the_inbox_are_skipped_with_a_warning_and_never_followed(
        shop_db, tmp_path, caplog):
    inbox = tmp_path / "inbox"
    drop(inbox, "good.json", [torgsoft_order("R-1")])
    secret = tmp_path / "outside.json"
    secret.write_text(json.dumps([torgsoft_order("R-2")]))
    os.symlink(secret, inbox / "link.json")
    os.mkfifo(inbox / "pipe.json")                       # opening it for reading would wait for a writer

    with caplog.at_level(logging.WARNING):
        summary = run_inbox(shop_db, shop_settings(inbox))

    assert [o.file_name for o in summary.files] == ["good.json"]
    assert "link.json is not a regular file" in caplog.text and "pipe.json is not a regular file" in caplog.text
    assert (inbox / "link.json").is_symlink() and (inbox / "pipe.json").exists()   # left where they are
    assert secret.exists()
    assert scalar(shop_db, "SELECT string_agg(external_number, ',') FROM invoices") == "R-1"


def test_a_file_replaced_by_a_symlink_after_listing_is_not_read(tmp_path):
    from shopsync.transport.base import NotRegularFile
    from shopsync.transport.local import LocalFiles

    (tmp_path / "target.json").write_text("[]")
    os.symlink(tmp_path / "target.json", tmp_path / "link.json")
    os.mkfifo(tmp_path / "pipe.json")
    store = LocalFiles(tmp_path)
    for name in ("link.json", "pipe.json"):
        with pytest.raises(NotRegularFile):
            store.read(name, max_bytes=100)


def run_replay(db_url: str, inbox: Path, *args: str) -> subprocess.CompletedProcess:
    shops = inbox.parent / "shops"
    shops.mkdir(exist_ok=True)
    (shops / "demo.yaml").write_text(json.dumps({
        "id": "demo", "name": "Тест", "url": "https://test.example", "warehouses": [1, 2, 3],
        "feeds": [{"profile": "yml"}], "destination": {"kind": "local", "path": str(inbox.parent / "out")},
        "orders_inbox": {"kind": "local", "path": str(inbox), "settle_seconds": 0}}))
    env = {**os.environ, "SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": str(shops)}
    return subprocess.run([sys.executable, "-m", "shopsync.cli", "replay", "--shop", "demo", *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", ["../b.json", "quarantine/../../b.json", "/etc/passwd", "..", ".", "",
                                  "sub/a.json", "a.json.error.json", "missing.json", "link.json"])
def test_replay_takes_only_plain_names_of_files_in_the_quarantine(shop_db, db_url, tmp_path, name):
    inbox = tmp_path / "inbox"
    bad = torgsoft_order("Q-2")
    bad["Goods"][0]["Count"] = {"oops": 1}
    drop(inbox, "a.json", [bad])
    run_inbox(shop_db, shop_settings(inbox))
    drop(tmp_path, "b.json", [torgsoft_order("Q-3")])
    os.symlink(tmp_path / "b.json", inbox / "quarantine" / "link.json")

    result = run_replay(db_url, inbox, "--", name)

    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("shopsync: error: ")
    assert "Traceback" not in result.stderr
    assert count(shop_db, "invoices") == 0
    assert (tmp_path / "b.json").exists() and (inbox / "quarantine" / "a.json").exists()


def test_replay_of_a_plain_quarantined_name_still_works(shop_db, db_url, tmp_path):
    inbox = tmp_path / "inbox"
    bad = torgsoft_order("Q-1")
    bad["Goods"][0]["Count"] = {"oops": 1}
    drop(inbox, "a.json", [bad])
    run_inbox(shop_db, shop_settings(inbox))
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps([torgsoft_order("Q-1")]))

    result = run_replay(db_url, inbox, "a.json", "--fixed", str(fixed))

    assert result.returncode == 0, result.stderr
    assert scalar(shop_db, "SELECT external_number FROM invoices") == "Q-1"
    assert (inbox / "archive" / "a.json").exists() and not list((inbox / "quarantine").iterdir())


# -- uploads still going on -----------------------------------------------------------------------------------


def test_an_upload_that_keeps_growing_waits_until_size_and_mtime_held_for_the_settle_window(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    plain = shop_settings(inbox)
    shop = plain.model_copy(update={"orders_inbox": plain.orders_inbox.model_copy(update={"settle_seconds": 60})})
    body = json.dumps([torgsoft_order(f"G-{n}") for n in range(5)]).encode()
    path = drop(inbox, "growing.json", body[:40])                      # an old mtime: the uploader keeps it
    start = datetime.now(UTC)

    def run_at(seconds: float):
        reader = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS)
        try:
            return ingest_inbox(shop_db, shop, reader, now=start + timedelta(seconds=seconds))
        finally:
            reader.close()

    for step, seconds in enumerate((0, 30, 61, 100)):                   # the upload goes on, mtime unchanged
        with path.open("ab") as stream:
            stream.write(body[40 + step * 10: 50 + step * 10])
        os.utime(path, (OLD, OLD))
        assert run_at(seconds).files == [], seconds
    with path.open("ab") as stream:
        stream.write(body[80:])                                         # the upload is complete at t=100
    os.utime(path, (OLD, OLD))
    assert run_at(120).files == []                                      # seen complete at 120 ...
    assert run_at(170).files == []                                      # ... not yet for 60 s
    summary = run_at(181)

    assert [(o.file_name, o.applied) for o in summary.files] == [("growing.json", 5)]
    assert count(shop_db, "order_files") == 1


def test_a_file_quarantined_as_cut_off_is_taken_again_once_it_changes(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    shop = shop_settings(inbox)
    body = json.dumps([torgsoft_order("C-1"), torgsoft_order("C-2")]).encode()
    drop(inbox, "upload.json", body[: len(body) // 2])
    first = run_inbox(shop_db, shop)
    assert first.files[0].unreadable.startswith("the file is cut off")
    report = report_of(inbox, "upload.json")
    assert "taken again by itself" in report["what_to_do"]
    assert report["taken_again_when_changed"] == {"size": len(body) // 2,
                                                  "mtime": datetime.fromtimestamp(OLD, UTC).isoformat()}
    assert run_inbox(shop_db, shop).files == []                         # unchanged: it stays in quarantine
    assert (inbox / "quarantine" / "upload.json").exists()

    with (inbox / "quarantine" / "upload.json").open("ab") as stream:   # the uploader kept writing
        stream.write(body[len(body) // 2:])
    again = run_inbox(shop_db, shop)

    assert [(o.file_name, o.applied, o.quarantined) for o in again.files] == [("upload.json", 2, False)]
    assert (inbox / "archive" / "upload.json").read_bytes() == body
    assert not list((inbox / "quarantine").iterdir())
    assert run_inbox(shop_db, shop).files == []


def test_a_file_quarantined_for_another_reason_is_not_taken_again_when_it_changes(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "bad.json", b"\x89PNG not orders")
    run_inbox(shop_db, shop_settings(inbox))
    with (inbox / "quarantine" / "bad.json").open("ab") as stream:
        stream.write(b"more")

    assert run_inbox(shop_db, shop_settings(inbox)).files == []
    assert (inbox / "quarantine" / "bad.json").exists()


def test_cli_ingest_checks_size_and_kind_before_reading_and_goes_on_with_the_other_files(shop_db, db_url, tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)                  # sparse: nothing is written, only the size is large
    os.mkfifo(tmp_path / "pipe.json")                        # reading it would wait forever for a writer
    good = tmp_path / "good.json"
    good.write_text(json.dumps([torgsoft_order("CLI-1")]))
    env = {**os.environ, "SHOPSYNC_DB_URL": db_url}

    done = subprocess.run([sys.executable, "-m", "shopsync.cli", "ingest", "--shop", "demo", str(big),
                           str(tmp_path / "pipe.json"), str(good)], capture_output=True, text=True, env=env,
                          timeout=120)

    assert done.returncode == 1, done.stderr
    assert "big.json: the file is too large" in done.stdout and "pipe.json: not a regular file" in done.stdout
    assert "2 file(s) not read" in done.stdout
    assert scalar(shop_db, "SELECT external_number FROM invoices") == "CLI-1"


def test_a_short_settle_window_is_waited_out_in_the_run_that_first_sees_the_files(shop_db, tmp_path):
    inbox = tmp_path / "inbox"
    plain = shop_settings(inbox)
    shop = plain.model_copy(update={"orders_inbox": plain.orders_inbox.model_copy(update={"settle_seconds": 5})})
    drop(inbox, "complete.json", [torgsoft_order("W-1")])
    body = json.dumps([torgsoft_order("W-2")]).encode()
    growing = drop(inbox, "growing.json", body[:30])
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if seconds == 5 and growing.stat().st_size < len(body):       # the upload goes on during the window
            with growing.open("ab") as stream:
                stream.write(body[30:])
            os.utime(growing, (OLD, OLD))

    def run_at(seconds: float):
        reader = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS, wait_between_looks=wait)
        try:
            return ingest_inbox(shop_db, shop, reader, now=datetime.now(UTC) + timedelta(seconds=seconds))
        finally:
            reader.close()

    first = run_at(0)

    assert [o.file_name for o in first.files] == ["complete.json"]       # taken in the run that first saw it
    assert waits == [0, 5]                                              # the two looks, then the window, once
    assert (inbox / "growing.json").exists()
    later = run_at(60)
    assert [(o.file_name, o.applied) for o in later.files] == [("growing.json", 1)]


def test_a_file_that_cannot_be_read_fails_the_run_until_it_failed_too_often(shop_db, tmp_path, monkeypatch):
    from shopsync.transport import RetryPolicy
    from shopsync.transport.local import LocalFiles

    inbox = tmp_path / "inbox"
    drop(inbox, "a_locked.json", [torgsoft_order("P-1")])
    os.utime(inbox / "a_locked.json", (OLD - 10, OLD - 10))
    drop(inbox, "b_fine.json", [torgsoft_order("P-2")])
    shop = shop_settings(inbox)
    real_read = LocalFiles.read

    def read(self, path, max_bytes=None):
        if path == "a_locked.json":
            raise PermissionError(13, "Permission denied")
        return real_read(self, path, max_bytes)

    monkeypatch.setattr(LocalFiles, "read", read)

    def run():
        reader = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS, retry=RetryPolicy(attempts=1))
        try:
            return ingest_inbox(shop_db, shop, reader)
        finally:
            reader.close()

    for _ in range(ATTEMPTS_BEFORE_QUARANTINE):
        with pytest.raises(InboxError, match="Permission denied"):
            run()
        assert inbox_files(inbox) == ["a_locked.json", "b_fine.json"]
    summary = run()

    assert [(o.file_name, o.quarantined) for o in summary.files] == [("a_locked.json", True), ("b_fine.json", False)]
    assert "could not be read in 3 runs" in report_of(inbox, "a_locked.json")["reason"]
    assert "Permission denied" in report_of(inbox, "a_locked.json")["reason"]
    assert scalar(shop_db, "SELECT external_number FROM invoices") == "P-2"
