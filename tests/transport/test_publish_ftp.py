"""Publishing to a real FTP server (pyftpdlib on 127.0.0.1): read back, overwrite, atomic replace, failures."""

from __future__ import annotations

import ftplib
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopsync.core import config
from shopsync.core.errors import ShopsyncError
from shopsync.transport import OutgoingFile, PublishError, RetryPolicy, open_destination

if TYPE_CHECKING:
    from local_servers import FtpServer

BIG = 20 * 1024 * 1024
MakeFile = Callable[[str, bytes], Path]


def ftp_destination(tmp_path: Path, retry: RetryPolicy, path: str = "/shop/feeds", conn_id: str = "shop_ftp"):
    settings = config.Destination(kind="ftp", path=path, conn_id=conn_id)
    return open_destination(settings, base_dir=tmp_path, retry=retry)


@pytest.mark.parametrize("form", ["uri", "json"])
def test_put_with_subdirectories_and_read_back(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, form: str,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri if form == "uri" else ftp_server.json)
    feed = make_file("feed.csv", "Назва;Ціна\nЧай;10\n".encode())
    photo = make_file("12_0.jpg", os.urandom(70_000))
    destination = ftp_destination(tmp_path, fast_retry)
    try:
        results = destination.put([OutgoingFile(feed, "feed.csv"), OutgoingFile(photo, "photos/catalog/12_0.jpg")])

        assert destination.get("feed.csv") == feed.read_bytes()
        assert destination.get("photos/catalog/12_0.jpg") == photo.read_bytes()
        assert destination.get("photos/missing.jpg") is None
    finally:
        destination.close()
    assert (ftp_server.home / "shop/feeds/photos/catalog/12_0.jpg").read_bytes() == photo.read_bytes()
    assert [r.attempts for r in results] == [1, 1]


def test_relative_path_is_under_the_login_home(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    destination = ftp_destination(tmp_path, fast_retry, path="public_html")
    destination.put([OutgoingFile(make_file("a.xml", b"<a/>"), "a.xml")])
    destination.close()

    assert (ftp_server.home / "public_html/a.xml").read_bytes() == b"<a/>"


@pytest.mark.parametrize("server_fixture", ["ftp_server", "plain_ftp_server"])
def test_overwrite_keeps_the_set_consistent_and_leaves_no_temp_files(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, server_fixture: str,
) -> None:
    ftp_server: FtpServer = request.getfixturevalue(server_fixture)
    caplog.set_level(logging.WARNING, logger="shopsync")
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    destination = ftp_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("1/a", b"a1"), "a.csv"), OutgoingFile(make_file("1/b", b"b1"), "p/b.jpg")])
    destination.put([OutgoingFile(make_file("2/a", b"a2"), "a.csv"), OutgoingFile(make_file("2/b", b"b2"), "p/b.jpg")])
    destination.close()

    root = ftp_server.home / "shop/feeds"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == ["a.csv", "p/b.jpg"]
    assert ((root / "a.csv").read_bytes(), (root / "p/b.jpg").read_bytes()) == (b"a2", b"b2")
    # a server that will not rename onto a file gets delete-then-rename, and the log says it is not atomic
    assert ("not atomic" in caplog.text) == (server_fixture == "plain_ftp_server")


def test_ftp_reader_only_ever_sees_a_complete_file(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    old, new = os.urandom(BIG), os.urandom(BIG)
    versions = {hashlib.sha256(old).hexdigest(): "old", hashlib.sha256(new).hexdigest(): "new"}
    destination = ftp_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("old.bin", old), "big.bin")])
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        with ftplib.FTP() as ftp:
            ftp.connect(ftp_server.host, ftp_server.port, timeout=30)
            ftp.login(ftp_server.user, ftp_server.password)
            while not done.is_set():
                buffer = io.BytesIO()
                try:
                    ftp.retrbinary("RETR /shop/feeds/big.bin", buffer.write)
                except ftplib.error_perm as exc:
                    seen.append(f"MISSING {exc}")
                    continue
                seen.append(versions.get(hashlib.sha256(buffer.getvalue()).hexdigest(), "TORN"))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        destination.put([OutgoingFile(make_file("new.bin", new), "big.bin")])
    finally:
        done.set()
        thread.join()
        destination.close()

    assert seen and all(version in ("old", "new") for version in seen), seen
    assert (ftp_server.home / "shop/feeds/big.bin").read_bytes() == new


def test_server_stopped_midway_raises_after_retries_and_keeps_the_previous_file(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    destination = ftp_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("1/a", b"a1"), "a.csv"), OutgoingFile(make_file("1/b", b"b1"), "b.csv")])

    def stop_on_second_file(received: str) -> None:
        if "b.csv" in received:
            ftp_server.stop_event.set()  # the server closes every connection before the rename

    ftp_server.on_file_received.append(stop_on_second_file)
    with pytest.raises(PublishError) as caught:
        destination.put([
            OutgoingFile(make_file("2/a", b"a2"), "a.csv"), OutgoingFile(make_file("2/b", b"b2"), "b.csv"),
        ])
    destination.close()

    assert "publish b.csv" in str(caught.value) and "after 3 attempt(s)" in str(caught.value)
    assert ftp_server.password not in str(caught.value)
    root = ftp_server.home / "shop/feeds"
    assert (root / "a.csv").read_bytes() == b"a2"
    assert (root / "b.csv").read_bytes() == b"b1"


def test_wrong_password_fails_without_showing_any_password(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Wr0ng-Passw0rd-xyz"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", f"ftp://{ftp_server.user}:{wrong}@{ftp_server.host}:{ftp_server.port}/")
    caplog.set_level(logging.DEBUG)
    destination = ftp_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("a", b"a"), "a.csv")])

    assert "login refused" in str(caught.value) and "after 1 attempt(s)" in str(caught.value)  # never retried
    for text in [str(caught.value), caplog.text, repr(destination.store.connection)]:
        assert wrong not in text and ftp_server.password not in text


def test_successful_publish_logs_no_secret(
    tmp_path: Path, ftp_server: FtpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    caplog.set_level(logging.DEBUG)
    destination = ftp_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("a", b"a"), "a.csv")])
    destination.close()

    assert "published a.csv" in caplog.text
    assert ftp_server.password not in caplog.text


def test_missing_connection_is_a_clear_error(
    tmp_path: Path, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_FTP", raising=False)

    with pytest.raises(ShopsyncError, match="AIRFLOW_CONN_NO_SUCH_FTP"):
        ftp_destination(tmp_path, fast_retry, conn_id="no_such_ftp")
