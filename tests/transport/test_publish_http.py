"""Publishing by HTTP PUT/POST to a real server on 127.0.0.1: headers, retries on 503, clean failure."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopsync.core import config
from shopsync.transport import OutgoingFile, PublishError, RetryPolicy, open_destination
from shopsync.transport.connections import ConnectionInfo
from shopsync.transport.http_upload import base_url_of

if TYPE_CHECKING:
    from local_servers import HttpServer

MakeFile = Callable[[str, bytes], Path]


def http_destination(tmp_path: Path, retry: RetryPolicy, method: str = "PUT", path: str = "/upload/shop"):
    settings = config.Destination(kind="http", path=path, conn_id="shop_http", method=method)
    return open_destination(settings, base_dir=tmp_path, retry=retry)


@pytest.mark.parametrize(("form", "method"), [("uri", "PUT"), ("json", "POST")])
def test_put_with_subdirectories_and_read_back(
    tmp_path: Path, http_server: HttpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, form: str, method: str,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_HTTP", http_server.uri if form == "uri" else http_server.json)
    feed = make_file("feed.csv", "Назва;Ціна\n".encode())
    photo = make_file("p.jpg", os.urandom(40_000))
    destination = http_destination(tmp_path, fast_retry, method=method)

    destination.put([OutgoingFile(feed, "feed.csv"), OutgoingFile(photo, "photos/catalog/12 0.jpg")])

    assert destination.get("feed.csv") == feed.read_bytes()
    assert destination.get("photos/catalog/12 0.jpg") == photo.read_bytes()
    assert destination.get("absent.csv") is None
    destination.close()
    assert (http_server.root / "upload/shop/photos/catalog/12 0.jpg").read_bytes() == photo.read_bytes()
    uploads = [r for r in http_server.requests if r.method == method]
    assert [r.path for r in uploads] == ["/upload/shop/feed.csv", "/upload/shop/photos/catalog/12%200.jpg"]
    assert uploads[0].headers["Content-Type"] == "text/csv"
    assert uploads[1].headers["Content-Type"] == "image/jpeg"
    assert uploads[1].headers["X-Content-SHA256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    if form == "json":
        assert uploads[0].headers["X-Shop"] == "demo"  # extra headers from the connection


def test_retries_succeed_when_only_the_first_attempts_fail(
    tmp_path: Path, http_server: HttpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_HTTP", http_server.uri)
    http_server.fail_first = 2
    destination = http_destination(tmp_path, fast_retry)

    [result] = destination.put([OutgoingFile(make_file("a.csv", b"a"), "a.csv")])

    assert result.attempts == 3
    assert (http_server.root / "upload/shop/a.csv").read_bytes() == b"a"
    assert caplog.text.count("503") == 2
    assert http_server.password not in caplog.text


def test_failing_server_raises_after_retries_and_keeps_the_previous_file(
    tmp_path: Path, http_server: HttpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_HTTP", http_server.uri)
    caplog.set_level(logging.DEBUG)
    destination = http_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("1.csv", b"previous"), "a.csv")])
    http_server.fail_first = -1

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("2.csv", b"next"), "a.csv")])

    assert "503" in str(caught.value) and "after 3 attempt(s)" in str(caught.value)
    assert len([r for r in http_server.requests if r.method == "PUT"]) == 1 + 3
    assert (http_server.root / "upload/shop/a.csv").read_bytes() == b"previous"
    for text in (str(caught.value), caplog.text):
        assert http_server.password not in text


def test_refused_credentials_fail_at_once_without_showing_them(
    tmp_path: Path, http_server: HttpServer, make_file: MakeFile, fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Wr0ng-Passw0rd-xyz"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_HTTP", f"http://{http_server.user}:{wrong}@{http_server.host}:{http_server.port}/")
    destination = http_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("a.csv", b"a"), "a.csv")])

    assert "401" in str(caught.value) and "after 1 attempt(s)" in str(caught.value)
    for text in (str(caught.value), caplog.text):
        assert wrong not in text


def test_unreachable_server_raises_publish_error(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_HTTP", json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9}))
    destination = http_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError, match=r"after 3 attempt\(s\)"):
        destination.put([OutgoingFile(make_file("a.csv", b"a"), "a.csv")])


@pytest.mark.parametrize(("conn", "expected"), [
    (ConnectionInfo("c", "http", "upload.example.com"), "http://upload.example.com"),
    (ConnectionInfo("c", "http", "upload.example.com", 8443, schema="https"), "https://upload.example.com:8443"),
    (ConnectionInfo("c", "https", "upload.example.com"), "https://upload.example.com"),
    (ConnectionInfo("c", "http", "https://upload.example.com/api/"), "https://upload.example.com/api"),
])
def test_base_url_follows_the_airflow_http_connection(conn: ConnectionInfo, expected: str) -> None:
    assert base_url_of(conn) == expected
