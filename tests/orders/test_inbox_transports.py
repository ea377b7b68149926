"""The orders inbox on each transport (local directory, FTP, SFTP servers on 127.0.0.1).

plain_ftp is an FTP server without MLSD that will not rename onto an existing file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shopsync.core import config
from shopsync.core.tuning import DEFAULT_TUNING
from shopsync.orders.inbox import Inbox, InboxError, open_inbox
from shopsync.transport import RetryPolicy
from shopsync.transport.base import FileTooLarge

SETTLE_SECONDS = 10
OLD = 120.0                      # seconds: well past settle_seconds


@dataclass
class InboxSetup:
    kind: str
    directory: Path                # where the shop's files land, as seen on this machine's disk
    open: Callable[..., Inbox]

    def drop(self, name: str, content: bytes, age: float = OLD) -> Path:
        """A shop uploads a file (aged so that it has settled, unless age is small)."""
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        moment = int(datetime.now(UTC).timestamp() - age)   # whole seconds, as FTP reports them
        os.utime(path, (moment, moment))
        return path


@pytest.fixture(params=["local", "ftp", "plain_ftp", "sftp"])
def inbox_setup(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_retry: RetryPolicy
) -> Iterator[InboxSetup]:
    kind = request.param
    if kind == "local":
        directory = tmp_path / "inbox/shop"
        settings = config.OrdersInbox(kind="local", path="inbox/shop", settle_seconds=SETTLE_SECONDS)
    elif kind in ("ftp", "plain_ftp"):
        server = request.getfixturevalue(f"{kind}_server")
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_INBOX", server.uri)
        directory = server.home / "orders/new"
        settings = config.OrdersInbox(kind="ftp", path="/orders/new", conn_id="shop_inbox",
                                      settle_seconds=SETTLE_SECONDS)
    else:
        server = request.getfixturevalue("sftp_server")
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_INBOX", server.private_key_json)
        directory = server.home / "orders/new"
        settings = config.OrdersInbox(kind="sftp", path="orders/new", conn_id="shop_inbox",
                                      settle_seconds=SETTLE_SECONDS)
    directory.mkdir(parents=True)
    opened: list[Inbox] = []

    def open_it(**options: Any) -> Inbox:
        options = {"tuning": DEFAULT_TUNING.but(settle_check_seconds=0.01), "retry": fast_retry} | options
        opened.append(open_inbox(settings, base_dir=tmp_path, **options))
        return opened[-1]

    yield InboxSetup(kind, directory, open_it)
    for inbox in opened:
        inbox.close()


def test_list_ready_skips_temporary_hidden_and_directories(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("b.json", b"{}", age=OLD)
    inbox_setup.drop("a.json", b"{}", age=OLD)
    inbox_setup.drop("c.xml", b"<orders/>", age=OLD + 60)
    for name in ("x.tmp", "y.part", "z.PARTIAL", "w.filepart", "~lock.json", ".hidden.json", ".a.json.part-1a2b"):
        inbox_setup.drop(name, b"...")
    inbox_setup.drop("sub/inner.json", b"{}")
    (inbox_setup.directory / "archive").mkdir()
    inbox = inbox_setup.open()

    ready = inbox.list_ready()

    assert [file.name for file in ready] == ["c.xml", "a.json", "b.json"]  # by (mtime, name)
    assert ready[0].size == len(b"<orders/>")
    assert ready[0].mtime.tzinfo is not None
    assert abs(ready[1].mtime.timestamp() - (datetime.now(UTC).timestamp() - OLD)) < 5


def test_files_younger_than_settle_seconds_wait(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("old.json", b"{}", age=OLD)
    inbox_setup.drop("fresh.json", b"{}", age=1)
    inbox = inbox_setup.open()

    assert [file.name for file in inbox.list_ready()] == ["old.json"]
    later = datetime.fromtimestamp(datetime.now(UTC).timestamp() + SETTLE_SECONDS + 5, UTC)
    assert [file.name for file in inbox.list_ready(now=later)] == ["old.json", "fresh.json"]


def test_a_file_still_growing_between_two_looks_waits(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("done.json", b"{}")
    growing = inbox_setup.drop("growing.json", b'{"orders": [')
    mtime = growing.stat().st_mtime

    def shop_keeps_writing(seconds: float) -> None:
        with growing.open("ab") as stream:
            stream.write(b'{"id": 1}')
        os.utime(growing, (mtime, mtime))  # same mtime: only the size tells

    inbox = inbox_setup.open(wait_between_looks=shop_keeps_writing)

    assert [file.name for file in inbox.list_ready()] == ["done.json"]


def test_read_and_archive(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("orders.json", "Замовлення".encode())
    inbox = inbox_setup.open()

    assert inbox.read("orders.json") == "Замовлення".encode()
    assert inbox.archive("orders.json") == "archive/orders.json"

    assert not (inbox_setup.directory / "orders.json").exists()
    assert (inbox_setup.directory / "archive/orders.json").read_bytes() == "Замовлення".encode()
    assert inbox.list_ready() == []
    with pytest.raises(InboxError, match="no longer in the inbox"):
        inbox.read("orders.json")


def test_archive_never_overwrites_a_file_of_the_same_name(inbox_setup: InboxSetup) -> None:
    inbox = inbox_setup.open()
    for number in range(3):
        inbox_setup.drop("orders.json", f"batch {number}".encode())
        assert [file.name for file in inbox.list_ready()] == ["orders.json"]
        inbox.archive("orders.json")

    archived = {path.name: path.read_bytes() for path in (inbox_setup.directory / "archive").iterdir()}
    assert sorted(archived.values()) == [b"batch 0", b"batch 1", b"batch 2"]
    assert archived["orders.json"] == b"batch 0"
    assert all(re.fullmatch(r"orders(\.\d{8}T\d{6}Z(-\d+)?)?\.json", name) for name in archived), archived


def test_quarantine_moves_the_file_and_writes_an_error_report(inbox_setup: InboxSetup) -> None:
    inbox = inbox_setup.open()
    report = {"file": "bad.json", "errors": ["рядок 3: немає товару 17"], "count": 1}
    inbox_setup.drop("bad.json", b"not json")
    (inbox_setup.directory / "quarantine").mkdir()
    (inbox_setup.directory / "quarantine/bad.json").write_bytes(b"an earlier bad file")

    moved = inbox.quarantine("bad.json", report)

    quarantine = inbox_setup.directory / "quarantine"
    assert re.fullmatch(r"quarantine/bad\.\d{8}T\d{6}Z\.json", moved), moved
    assert (inbox_setup.directory / moved).read_bytes() == b"not json"
    assert (quarantine / "bad.json").read_bytes() == b"an earlier bad file"
    text = (inbox_setup.directory / f"{moved}.error.json").read_text(encoding="utf-8")
    assert json.loads(text) == report
    assert "немає товару" in text and text.startswith("{\n  ")
    assert not (inbox_setup.directory / "bad.json").exists()
    assert inbox.list_ready() == []


def test_missing_inbox_directory_lists_nothing(inbox_setup: InboxSetup) -> None:
    inbox_setup.directory.rmdir()
    inbox = inbox_setup.open()

    assert inbox.list_ready() == []


@pytest.mark.parametrize("name", ["../escape.json", "sub/inner.json", ".hidden", ""])
def test_names_outside_the_inbox_are_refused(inbox_setup: InboxSetup, name: str) -> None:
    inbox = inbox_setup.open()

    with pytest.raises(InboxError):
        inbox.archive(name)


def test_reads_are_bounded_before_and_while_reading(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("big.json", b"x" * 5000)
    inbox_setup.drop("small.json", b"y" * 100)
    inbox = inbox_setup.open()

    with pytest.raises(FileTooLarge, match="too large"):
        inbox.read("big.json", max_bytes=4999)
    assert inbox.read("big.json", max_bytes=5000) == b"x" * 5000        # a file at the limit is read whole
    assert inbox.read("small.json", max_bytes=4999) == b"y" * 100      # the store still works after a refusal
    assert (inbox_setup.directory / "big.json").exists()


# FTP listings do not say whether a name is a symlink: the server decides what it serves under a name.
@pytest.mark.parametrize("inbox_setup", ["local", "sftp"], indirect=True)
def test_symlinks_are_listed_as_what_they_are_and_never_taken(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("real.json", b"[]")
    outside = inbox_setup.directory.parent / "outside.json"
    outside.write_bytes(b"[]")
    os.symlink(outside, inbox_setup.directory / "link.json")
    inbox = inbox_setup.open()

    assert [file.name for file in inbox.list_ready()] == ["real.json"]


def test_a_quarantined_file_can_be_listed_and_taken_back(inbox_setup: InboxSetup) -> None:
    inbox_setup.drop("cut.json", b'[{"a": ')
    inbox = inbox_setup.open()
    moved = inbox.quarantine("cut.json", {"reason": "the file is cut off"})
    with (inbox_setup.directory / moved).open("ab") as stream:     # the uploader kept writing
        stream.write(b"1}]")

    listed = inbox.quarantined_entries()
    assert set(listed) == {"cut.json"} and listed["cut.json"].size == len(b'[{"a": 1}]')
    assert inbox.take_back("cut.json") == "cut.json"

    assert (inbox_setup.directory / "cut.json").read_bytes() == b'[{"a": 1}]'
    assert not (inbox_setup.directory / "quarantine/cut.json").exists()
    assert not (inbox_setup.directory / "quarantine/cut.json.error.json").exists()
