"""Inbox rules that need no server: which names are candidates, how colliding names are made free."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from shopsync.core import config
from shopsync.orders.inbox import InboxError, free_name_candidates, is_candidate, open_inbox
from shopsync.transport import RetryPolicy
from shopsync.transport.base import RemoteEntry

if TYPE_CHECKING:
    from pathlib import Path

    from local_servers import FtpServer, SftpServer


@pytest.mark.parametrize(("name", "is_file", "expected"), [
    ("orders.json", True, True),
    ("Замовлення 1.xml", True, True),
    ("orders.json.tmp", True, False),
    ("orders.PART", True, False),
    ("orders.partial", True, False),
    ("orders.json.filepart", True, False),
    ("~$orders.xlsx", True, False),
    (".orders.json", True, False),
    (".orders.json.part-0a1b2c3d", True, False),
    ("archive", False, False),
])
def test_candidates(name: str, is_file: bool, expected: bool) -> None:
    assert is_candidate(RemoteEntry(name, is_file, 10, 0.0)) is expected


def test_free_names_keep_the_extension_last() -> None:
    moment = datetime(2026, 3, 1, 10, 5, 7, tzinfo=UTC)

    names = list(itertools.islice(free_name_candidates("orders.json", moment), 4))

    assert names == ["orders.json", "orders.20260301T100507Z.json", "orders.20260301T100507Z-2.json",
                     "orders.20260301T100507Z-3.json"]


@pytest.mark.parametrize("kind", ["ftp", "sftp"])
def test_unreachable_inbox_server_is_an_inbox_error_without_secrets(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fast_retry: RetryPolicy, caplog: pytest.LogCaptureFixture,
) -> None:
    server: FtpServer | SftpServer = request.getfixturevalue(f"{kind}_server")
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_INBOX", server.uri if kind == "ftp" else server.password_uri)
    server.stop()
    inbox = open_inbox(config.OrdersInbox(kind=kind, path="in", conn_id="shop_inbox"), tmp_path, retry=fast_retry)

    with pytest.raises(InboxError) as caught:
        inbox.list_ready()

    assert "after 3 attempt(s)" in str(caught.value)
    assert server.password not in str(caught.value) + caplog.text
