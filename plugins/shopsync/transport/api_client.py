"""The JSON API client every remote adapter uses (channels, carriers): base URL from a Connection, retries, errors.

One `ApiClient` per remote account. What it does for each call:
- retries with backoff (transport.RetryPolicy) on timeouts, dropped connections, HTTP 429 (waiting what
  `Retry-After` says, capped by the policy's max_delay) and 5xx; never on other 4xx;
- asks its `Auth` for headers before each attempt, and on HTTP 401 (or an answer the channel calls an
  expired token) renews once and tries again;
- hands every decoded answer to the channel's `check` (Rozetka and Nova Poshta answer HTTP 200 with
  `success: false`), which raises `RemoteRejected` for a refusal and `TokenExpired` for a stale token;
- keeps every secret it was given out of messages and logs.
The base URL follows the Airflow HTTP connection (transport.http_upload.base_url_of): host with its own
protocol, or `{schema or https}://{host}[:port]`, so a test server on 127.0.0.1 stands in for the channel.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import requests

from shopsync.core.errors import PermanentError, ShopsyncError
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo, scrub
from shopsync.transport.http_upload import base_url_of

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = 30.0


class RemoteError(ShopsyncError):
    """A remote API (channel, carrier) did not answer usefully (down, overloaded, slow): the next run tries again."""


class RemoteRejected(PermanentError):
    """The remote API refused this request as such (a bad status move, an unknown id): repeating it cannot help."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TokenExpired(RemoteError):
    """The channel says the access token is no longer valid: the client logs in again once."""


class Auth(Protocol):
    secrets: list[str]

    def headers(self, client: ApiClient) -> dict[str, str]:
        """Headers that authorise the next request (may log in first)."""

    def renew(self, client: ApiClient) -> None:
        """Forget the current token: the next headers() logs in again."""


@dataclass
class BearerToken:
    """A fixed token (Prom: `Authorization: Bearer <token>`); renewing cannot help."""

    token: str = field(repr=False)

    @property
    def secrets(self) -> list[str]:
        return [self.token]

    def headers(self, client: ApiClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self, client: ApiClient) -> None:
        raise RemoteRejected(f"{client.name}: the API token was refused (HTTP 401): check the connection's token",
                              status=401)


Check = Callable[[int, Any], None]


def no_check(status: int, body: Any) -> None:
    """Channels whose errors are HTTP statuses only."""


@dataclass
class ApiClient:
    name: str                                   # for messages: "prom (conn prom_demo)"
    base_url: str
    auth: Auth
    check: Check = no_check
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = DEFAULT_TIMEOUT
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    sleep: Callable[[float], None] = time.sleep

    @property
    def secrets(self) -> list[str]:
        return [secret for secret in self.auth.secrets if secret]

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None, authorised: bool = True) -> Any:
        """The decoded JSON answer of one API call (None for an empty body), retried as the module says."""
        return self.exchange(method, path, params=params, body=body, headers=headers, authorised=authorised)[0]

    def exchange(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
                 headers: Mapping[str, str] | None = None, authorised: bool = True) -> tuple[Any, Mapping[str, str]]:
        """Like call(), with the answer's headers (pagination totals travel in headers on WooCommerce)."""
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        renewed = False
        attempt = 1
        while True:
            try:
                return self._attempt(method, url, params, body, headers, authorised)
            except TokenExpired:
                if renewed or not authorised:
                    raise
                renewed = True
                self.auth.renew(self)
                continue
            except RemoteError as error:
                if attempt >= self.retry.attempts:
                    raise
                attempt += 1
                delay = max(getattr(error, "retry_after", 0.0), self.retry.delay_before(attempt))
                log.warning("%s: %s; trying again in %.1f s (attempt %d of %d)", self.name, error,
                            min(delay, self.retry.max_delay), attempt, self.retry.attempts)
                self.sleep(min(delay, self.retry.max_delay))

    def _attempt(self, method: str, url: str, params: Mapping[str, Any] | None, body: Any,
                 headers: Mapping[str, str] | None, authorised: bool) -> tuple[Any, Mapping[str, str]]:
        sent = {"Accept": "application/json", **(headers or {})}
        if authorised:
            sent.update(self.auth.headers(self))
        try:
            response = self.session.request(method, url, params=params, json=body, headers=sent,
                                            timeout=self.timeout)
        except requests.Timeout:
            raise RemoteError(f"{self.name}: {method} {self._path(url)} timed out after {self.timeout:g} s") from None
        except requests.RequestException as error:
            raise RemoteError(f"{self.name}: {method} {self._path(url)} failed: "
                               f"{self._scrub(type(error).__name__ + ': ' + str(error))[:300]}") from None
        return self._answer(method, url, response), response.headers

    def _answer(self, method: str, url: str, response: requests.Response) -> Any:
        status = response.status_code
        where = f"{self.name}: {method} {self._path(url)}"
        decoded = _decoded(response)
        if status == 401:
            raise TokenExpired(f"{where} answered 401 (not authorised)")
        if status in RETRYABLE_STATUSES:
            error = RemoteError(f"{where} answered {status}{_detail(decoded, self._scrub)}")
            error.retry_after = _retry_after_seconds(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise error
        if decoded is _NOT_JSON and response.content.strip():
            raise RemoteError(f"{where} answered {status} with a body that is not JSON "
                               f"({self._scrub(response.text[:120])!r})")
        body = None if decoded is _NOT_JSON else decoded
        try:
            self.check(status, body)
        except RemoteRejected as rejected:
            rejected.args = (f"{where}: {self._scrub(str(rejected))}",)
            raise
        except TokenExpired as expired:
            raise TokenExpired(f"{where}: {self._scrub(str(expired))}") from None
        if status >= 400:
            raise RemoteRejected(f"{where} answered {status}{_detail(body, self._scrub)}", status=status)
        return body

    def _path(self, url: str) -> str:
        return url[len(self.base_url.rstrip("/")):] or "/"

    def _scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


_NOT_JSON = object()


def _decoded(response: requests.Response) -> Any:
    if not response.content.strip():
        return _NOT_JSON
    try:
        return response.json(parse_float=Decimal)      # money and quantities exactly, as the order parsers want
    except (ValueError, json.JSONDecodeError):
        return _NOT_JSON


def _detail(body: Any, scrub_text: Callable[[str], str]) -> str:
    if body is _NOT_JSON or body in (None, "", {}, []):
        return ""
    return ": " + scrub_text(json.dumps(body, ensure_ascii=False))[:300]


def _retry_after_seconds(value: str | None) -> float:
    """Retry-After as seconds or an HTTP date; 0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, moment.timestamp() - time.time())


def client_for(connection: ConnectionInfo, name: str, auth: Auth, check: Check = no_check,
               retry: RetryPolicy | None = None) -> ApiClient:
    """A client for one channel account: base URL, timeout (extra `timeout`, seconds) and TLS check (extra
    `verify`) from the connection."""
    client = ApiClient(name=f"{name} (connection {connection.conn_id})", base_url=_https_base_url(connection),
                       auth=auth, check=check, retry=retry or RetryPolicy(),
                       timeout=connection.extra_float("timeout", DEFAULT_TIMEOUT))
    client.session.verify = connection.extra_bool("verify", True)
    return client


def _https_base_url(connection: ConnectionInfo) -> str:
    """Channel APIs speak HTTPS unless the connection says otherwise (a test server says `schema: http`)."""
    if "://" in connection.host or connection.schema or connection.conn_type == "http":
        return base_url_of(connection)
    return base_url_of(ConnectionInfo(conn_id=connection.conn_id, conn_type="https", host=connection.host,
                                      port=connection.port))
