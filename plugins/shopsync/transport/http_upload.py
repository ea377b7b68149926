"""Publishing by HTTP PUT/POST of each file to the shop's upload endpoint (requests, as the Airflow HTTP provider).

URL: ``{base URL}{path}/{remote_name}``. The base URL follows the Airflow HTTP connection: a host with
its own protocol ("https://shop.example") is used as is, else ``{schema or http}://{host}[:port]``
(a connection of type https defaults to https). Login/password are sent as basic auth; extra
`headers` (a JSON object, e.g. a bearer token) are added to every request; extra `timeout` (seconds,
default 60) and `verify` (TLS check, default true). The server makes each upload atomic on its side.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

import requests

from shopsync.core.errors import ShopsyncError
from shopsync.transport.base import (
    OutgoingFile,
    PublishError,
    PutResult,
    RetryPolicy,
    T,
    check_relative_path,
    file_digest,
    with_retries,
)
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".yml": "application/xml",      # Yandex Market Language feeds are XML
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".png": "image/png",
    ".txt": "text/plain",
}
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpStatusError(Exception):
    def __init__(self, method: str, url: str, status: int, reason: str) -> None:
        super().__init__(f"{method} {url} answered {status} {reason}".rstrip())
        self.retryable = status in RETRYABLE_STATUSES


def content_type_for(name: str) -> str:
    suffix = posixpath.splitext(name)[1].lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def base_url_of(connection: ConnectionInfo) -> str:
    host = connection.host.rstrip("/")
    if not host:
        raise ShopsyncError(f"connection {connection.conn_id!r}: needs a host for HTTP publishing")
    if "://" in host:
        url = host
    else:
        scheme = connection.schema or ("https" if connection.conn_type == "https" else "http")
        url = f"{scheme}://{host}"
    return f"{url}:{connection.port}" if connection.port else url


class HttpDestination:
    def __init__(
        self, connection: ConnectionInfo, path: str, method: str = "PUT", retry: RetryPolicy | None = None
    ) -> None:
        self.connection = connection
        self.method = method
        self.retry = retry or RetryPolicy()
        self.prefix = f"{base_url_of(connection)}/{path.strip('/')}".rstrip("/")
        self.timeout = connection.extra_float("timeout", 60.0)
        self.session = self._session()

    def put(self, files: Sequence[OutgoingFile]) -> list[PutResult]:
        return [self._put_one(file) for file in files]

    def get(self, remote_name: str) -> bytes | None:
        url = self.url_for(remote_name)

        def fetch() -> bytes | None:
            response = self.session.get(url, timeout=self.timeout)
            if response.status_code == 404:
                return None
            _raise_for_status("GET", url, response)
            return response.content

        content, _ = self._retrying(fetch, f"read {remote_name}")
        return content

    def close(self) -> None:
        self.session.close()

    # -- what sets.RemoteSets needs: temporary uploads renamed by WebDAV MOVE, DELETE for leftovers ----------

    @property
    def description(self) -> str:
        return f"http {self.prefix}"

    def upload(self, local_path: Path, remote_name: str) -> None:
        self._put_one(OutgoingFile(local_path, remote_name))

    def rename(self, source: str, target: str) -> None:
        source_url, target_url = self.url_for(source), self.url_for(target)

        def move() -> None:
            response = self.session.request("MOVE", source_url, timeout=self.timeout,
                                            headers={"Destination": target_url, "Overwrite": "T"})
            if response.status_code == 404 and self._exists(target_url):
                return                          # moved before the connection broke, or by an earlier run
            _raise_for_status("MOVE", source_url, response)

        self._retrying(move, f"rename {source} to {target}")

    def remove(self, remote_name: str) -> None:
        url = self.url_for(remote_name)

        def delete() -> None:
            response = self.session.delete(url, timeout=self.timeout)
            if response.status_code != 404:
                _raise_for_status("DELETE", url, response)

        self._retrying(delete, f"remove {remote_name}")

    def exists(self, remote_name: str) -> bool:
        url = self.url_for(remote_name)
        found, _ = self._retrying(lambda: self._exists(url), f"look for {remote_name}")
        return found

    def leftovers(self) -> list[str]:
        return []                               # HTTP cannot list: the journal names every temporary file

    def _exists(self, url: str) -> bool:
        response = self.session.head(url, timeout=self.timeout)
        if response.status_code == 404:
            return False
        _raise_for_status("HEAD", url, response)
        return True

    def url_for(self, remote_name: str) -> str:
        return f"{self.prefix}/{quote(check_relative_path(remote_name))}"

    def _put_one(self, file: OutgoingFile) -> PutResult:
        url = self.url_for(file.remote_name)
        size, sha256 = file_digest(file.local_path)
        headers = {
            "Content-Type": content_type_for(file.remote_name),
            "Content-Length": str(size),
            "X-Content-SHA256": sha256,
        }
        _, attempts = self._retrying(lambda: self._send(url, file.local_path, headers), f"publish {file.remote_name}")
        log.info("published %s (%d bytes) by %s to %s", file.remote_name, size, self.method, self.prefix)
        return PutResult(remote_name=file.remote_name, size=size, sha256=sha256, attempts=attempts)

    def _send(self, url: str, local_path: Path, headers: dict[str, str]) -> None:
        with local_path.open("rb") as body:
            response = self.session.request(self.method, url, data=body, headers=headers, timeout=self.timeout)
        _raise_for_status(self.method, url, response)

    def _session(self) -> requests.Session:
        session = requests.Session()
        conn = self.connection
        if conn.login:
            session.auth = (conn.login, conn.password)
        session.headers.update(extra_headers(conn))
        session.verify = conn.extra_bool("verify", True)
        return session

    def _retrying(self, action: Callable[[], T], what: str) -> tuple[T, int]:
        return with_retries(
            action,
            policy=self.retry,
            what=f"{what} at {self.prefix}",
            store_reset=lambda: None,  # requests reconnects by itself
            error_class=PublishError,
            secrets_to_hide=self.connection.secrets + list(extra_headers(self.connection).values()),
        )


def extra_headers(connection: ConnectionInfo) -> dict[str, str]:
    headers = connection.extra.get("headers") or {}
    if isinstance(headers, str):  # from a URI query: ?headers={"Authorization": "Bearer ..."}
        try:
            headers = json.loads(headers)
        except json.JSONDecodeError:
            headers = None
    if not isinstance(headers, dict):
        raise ShopsyncError(f"connection {connection.conn_id!r}: extra headers must be a JSON object")
    return {str(key): str(value) for key, value in headers.items()}


def _raise_for_status(method: str, url: str, response: requests.Response) -> None:
    if not 200 <= response.status_code < 300:
        raise HttpStatusError(method, url, response.status_code, response.reason or "")
