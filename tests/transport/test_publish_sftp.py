"""Publishing to a real SFTP server (asyncssh on 127.0.0.1): password, key file and key text, host keys."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh
import pytest

from shopsync.core import config
from shopsync.transport import OutgoingFile, PublishError, RetryPolicy, open_destination

if TYPE_CHECKING:
    from local_servers import SftpServer

MakeFile = Callable[[str, bytes], Path]


def sftp_destination(tmp_path: Path, retry: RetryPolicy, path: str = "/shop/feeds"):
    settings = config.Destination(kind="sftp", path=path, conn_id="shop_sftp")
    return open_destination(settings, base_dir=tmp_path, retry=retry)


def connection_env(server: SftpServer, form: str) -> str:
    return {
        "password_uri": server.password_uri,
        "key_file_uri": server.key_file_uri,
        "private_key_json": server.private_key_json,
    }[form]


@pytest.mark.parametrize("form", ["password_uri", "key_file_uri", "private_key_json"])
def test_put_with_subdirectories_and_read_back(
    tmp_path: Path, sftp_server: SftpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, form: str,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_SFTP", connection_env(sftp_server, form))
    feed = make_file("feed.xml", "<shop>Чай</shop>".encode())
    photo = make_file("12_0.jpg", os.urandom(300_000))
    destination = sftp_destination(tmp_path, fast_retry)
    try:
        destination.put([OutgoingFile(feed, "feed.xml"), OutgoingFile(photo, "photos/catalog/12_0.jpg")])

        assert destination.get("feed.xml") == feed.read_bytes()
        assert destination.get("photos/catalog/12_0.jpg") == photo.read_bytes()
        assert destination.get("nothing/here.xml") is None
    finally:
        destination.close()
    assert (sftp_server.home / "shop/feeds/photos/catalog/12_0.jpg").read_bytes() == photo.read_bytes()


@pytest.mark.parametrize("server_fixture", ["sftp_server", "sftp_server_without_posix_rename"])
def test_overwrite_keeps_the_set_consistent_and_leaves_no_temp_files(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, server_fixture: str,
) -> None:
    server: SftpServer = request.getfixturevalue(server_fixture)
    caplog.set_level(logging.WARNING, logger="shopsync")
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_SFTP", server.password_uri)
    destination = sftp_destination(tmp_path, fast_retry, path="feeds")
    destination.put([OutgoingFile(make_file("1/a", b"a1"), "a.csv"), OutgoingFile(make_file("1/b", b"b1"), "p/b.jpg")])
    destination.put([OutgoingFile(make_file("2/a", b"a2"), "a.csv"), OutgoingFile(make_file("2/b", b"b2"), "p/b.jpg")])
    destination.close()

    root = server.home / "feeds"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == ["a.csv", "p/b.jpg"]
    assert ((root / "a.csv").read_bytes(), (root / "p/b.jpg").read_bytes()) == (b"a2", b"b2")
    # without posix-rename the replace cannot be atomic, and the log says so
    assert ("not atomic" in caplog.text) == (server_fixture == "sftp_server_without_posix_rename")


def test_unknown_host_key_is_refused_at_once(
    tmp_path: Path, sftp_server: SftpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    settings = json.loads(sftp_server.private_key_json)
    settings["extra"]["host_key"] = other_key
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_SFTP", json.dumps(settings))
    destination = sftp_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError, match=r"after 1 attempt\(s\)"):
        destination.put([OutgoingFile(make_file("a", b"a"), "a.csv")])
    assert not (sftp_server.home / "shop").exists()


def test_wrong_password_fails_once_without_showing_any_password(
    tmp_path: Path, sftp_server: SftpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Wr0ng-Passw0rd-xyz"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_SFTP", sftp_server.password_uri.replace("Sup3r-S3cret", wrong))
    caplog.set_level(logging.DEBUG, logger="shopsync")
    destination = sftp_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("a", b"a"), "a.csv")])

    assert "AuthenticationException" in str(caught.value) and "after 1 attempt(s)" in str(caught.value)
    for text in (str(caught.value), caplog.text):
        assert wrong not in text and sftp_server.password not in text


def test_server_gone_raises_after_retries_and_keeps_the_previous_file(
    tmp_path: Path, sftp_server: SftpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_SFTP", sftp_server.private_key_json)
    destination = sftp_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("1/a", b"previous"), "a.csv")])
    sftp_server.stop()

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("2/a", b"next"), "a.csv")])

    assert "after 3 attempt(s)" in str(caught.value)
    assert (sftp_server.home / "shop/feeds/a.csv").read_bytes() == b"previous"
    assert "BEGIN OPENSSH" not in caplog.text + str(caught.value)
