"""The channel API client against a real HTTP server on 127.0.0.1 that answers from a script."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shopsync.transport.api_client import (
    ApiClient,
    BearerToken,
    RemoteError,
    RemoteRejected,
    TokenExpired,
    client_for,
)
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

TOKEN = "prom-T0ken-Secr3t"


@dataclass
class Scripted:
    """Answers (status, headers, body) in order; once the script is used up, 200 with {"ok": true}."""

    answers: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
def server() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            script.requests.append({"method": self.command, "path": self.path,
                                    "auth": self.headers.get("Authorization"),
                                    "body": json.loads(raw) if raw else None})
            if script.delay:
                threading.Event().wait(script.delay)
            status, headers, body = script.answers.pop(0) if script.answers else (200, {}, {"ok": True})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass                                 # the client timed out and left (the timeout test)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/api/v1", script
    httpd.shutdown()
    httpd.server_close()


def rozetka_check(status: int, body: Any) -> None:
    if isinstance(body, dict) and body.get("success") is False:
        error = body.get("errors") or {}
        if error.get("code") == 1020:
            raise TokenExpired(error.get("message", ""))
        raise RemoteRejected(error.get("message", "refused"), status=status, code=str(error.get("code")))


def client(base_url: str, auth=None, check=None, **kwargs) -> tuple[ApiClient, list[float]]:
    waits: list[float] = []
    made = ApiClient(name="prom", base_url=base_url, auth=auth or BearerToken(TOKEN),
                     retry=RetryPolicy(attempts=4, first_delay=0.01, max_delay=5), sleep=waits.append, **kwargs)
    if check:
        made.check = check
    return made, waits


def test_answers_come_back_decoded_with_the_bearer_token(server):
    url, script = server
    script.answers = [(200, {}, {"orders": [{"id": 1}]})]
    api, _ = client(url)
    assert api.call("GET", "/orders/list", params={"limit": 2}) == {"orders": [{"id": 1}]}
    assert script.requests[0]["path"] == "/api/v1/orders/list?limit=2"
    assert script.requests[0]["auth"] == f"Bearer {TOKEN}"


def test_429_waits_what_retry_after_says_and_5xx_backs_off(server):
    url, script = server
    script.answers = [(429, {"Retry-After": "3"}, {"error": "Too many requests"}), (502, {}, b"<html>bad gateway"),
                      (200, {}, {"processed_ids": [7]})]
    api, waits = client(url)
    assert api.call("POST", "/orders/set_status", body={"ids": [7], "status": "received"}) == {"processed_ids": [7]}
    assert waits == [3.0, 0.02]                     # Retry-After honoured; then the policy's backoff
    assert [r["body"] for r in script.requests] == [{"ids": [7], "status": "received"}] * 3


def test_retry_after_is_capped_by_the_policy(server):
    url, script = server
    script.answers = [(429, {"Retry-After": "86400"}, {})]
    api, waits = client(url)
    api.call("GET", "/orders/list")
    assert waits == [5]


def test_it_gives_up_after_the_policy_s_attempts_with_a_clear_error(server):
    url, script = server
    script.answers = [(503, {}, {"error": "maintenance"})] * 4
    api, waits = client(url)
    with pytest.raises(RemoteError, match=r"prom: GET /orders/list answered 503: \{\"error\": \"maintenance\"\}"):
        api.call("GET", "/orders/list")
    assert len(script.requests) == 4 and len(waits) == 3


def test_a_timeout_is_retried_then_reported(server):
    url, script = server
    script.delay = 0.5
    api, waits = client(url, timeout=0.1)
    with pytest.raises(RemoteError, match="timed out after 0.1 s"):
        api.call("GET", "/orders/list")
    assert len(waits) == 3


def test_other_4xx_are_refusals_and_never_retried(server):
    url, script = server
    script.answers = [(404, {}, {"error": "Order not found"})]
    api, waits = client(url)
    with pytest.raises(RemoteRejected, match="answered 404") as refused:
        api.call("GET", "/orders/99")
    assert refused.value.status == 404 and not refused.value.retryable and waits == []


def test_success_false_with_http_200_is_an_error(server):
    url, script = server
    script.answers = [(200, {}, {"success": False, "errors": {"message": "Field ttn is required", "code": 3005}})]
    api, _ = client(url, check=rozetka_check)
    with pytest.raises(RemoteRejected, match="prom: PUT /orders/5: Field ttn is required") as refused:
        api.call("PUT", "/orders/5", body={"status": 61})
    assert refused.value.code == "3005"


@dataclass
class Login:
    """Rozetka-style: a token from a login call, renewed when the channel says it expired."""

    password: str = "roz-Passw0rd-Secr3t"
    token: str | None = None
    logins: int = 0

    @property
    def secrets(self) -> list[str]:
        return [self.password] + ([self.token] if self.token else [])

    def headers(self, client: ApiClient) -> dict[str, str]:
        if self.token is None:
            self.logins += 1
            answer = client.call("POST", "/sites", body={"username": "shop", "password": self.password},
                                 authorised=False)
            self.token = answer["content"]["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self, client: ApiClient) -> None:
        self.token = None


def test_an_expired_token_is_renewed_once_and_the_call_repeated(server):
    url, script = server
    script.answers = [
        (200, {}, {"success": True, "content": {"access_token": "tok-1"}}),
        (200, {}, {"success": False, "errors": {"message": "Incorrect access token", "code": 1020}}),
        (200, {}, {"success": True, "content": {"access_token": "tok-2"}}),
        (200, {}, {"success": True, "content": {"orders": []}}),
    ]
    login = Login()
    api, _ = client(url, auth=login, check=rozetka_check)
    assert api.call("GET", "/orders/search") == {"success": True, "content": {"orders": []}}
    assert login.logins == 2
    assert [r["auth"] for r in script.requests] == [None, "Bearer tok-1", None, "Bearer tok-2"]


def test_a_token_refused_again_after_renewal_is_an_error_not_a_loop(server):
    url, script = server
    script.answers = [(401, {}, {"error": "unauthorized"})] * 2
    api, _ = client(url, auth=BearerToken(TOKEN))
    with pytest.raises(RemoteRejected, match="the API token was refused"):
        api.call("GET", "/orders/list")
    assert len(script.requests) == 1


def test_secrets_never_reach_messages_or_logs(server, caplog):
    url, script = server
    echo = f"bad token {TOKEN}"
    script.answers = [(500, {}, {"error": echo})] * 3 + [(400, {}, {"error": echo})]
    api, _ = client(url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RemoteRejected) as refused:
        api.call("GET", "/orders/list")
    assert TOKEN not in str(refused.value) and "***" in str(refused.value)
    assert TOKEN not in caplog.text and "answered 500" in caplog.text


def test_the_base_url_comes_from_the_connection():
    def base(**fields) -> str:
        return client_for(ConnectionInfo(conn_id="prom_demo", **fields), "prom", BearerToken(TOKEN)).base_url

    assert base(host="my.prom.ua") == "https://my.prom.ua"
    assert base(host="127.0.0.1", port=8123, schema="http") == "http://127.0.0.1:8123"
    assert base(host="http://127.0.0.1:9000/api") == "http://127.0.0.1:9000/api"
    made = client_for(ConnectionInfo(conn_id="prom_demo", host="my.prom.ua", extra={"timeout": "7.5"}), "prom",
                      BearerToken(TOKEN))
    assert (made.timeout, made.name) == (7.5, "prom (connection prom_demo)")
