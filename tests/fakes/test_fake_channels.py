"""Contract tests of what the three fake channels share: queued faults (429 with Retry-After, 5xx, timeouts,
dropped connections, HTTP 200 failures), the request log, reordered and repeated listings, changes during
paging, and a fake run as its own process with its state file."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from fake_channels import FakeProcess
from fake_http import FakeServer
from fake_prom import TOKEN, FakeProm
from fake_rozetka import PASSWORD, USERNAME, FakeRozetka
from fake_woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce


@dataclass
class Channel:
    """How a test lists orders on one fake, and what its error body looks like."""

    server: FakeServer
    list_path: str
    auth: dict[str, Any]                # requests' keyword arguments (headers or auth), fixed before any fault
    items: Callable[[Any], list[dict[str, Any]]]
    error_body: Callable[[int, str], dict[str, Any]]

    def list(self, timeout: float = 5, **params: Any) -> requests.Response:
        return requests.get(self.server.base_url + self.list_path, params=params, timeout=timeout, **self.auth)

    def ids(self, **params: Any) -> list[int]:
        return [o["id"] for o in self.items(self.list(**params).json())]


def _rozetka_auth(server: FakeServer) -> dict[str, Any]:
    body = {"username": USERNAME, "password": base64.b64encode(PASSWORD.encode()).decode()}
    token = requests.post(f"{server.base_url}/sites", json=body, timeout=5).json()["content"]["access_token"]
    return {"headers": {"Authorization": f"Bearer {token}"}}


@pytest.fixture(params=["prom", "rozetka", "woocommerce"])
def channel(request: pytest.FixtureRequest) -> Channel:
    server = request.getfixturevalue(f"{request.param}_api")
    if isinstance(server, FakeProm):
        return Channel(server, "/api/v1/orders/list", {"headers": {"Authorization": f"Bearer {TOKEN}"}},
                       lambda body: body["orders"], lambda status, message: {"error": message})
    if isinstance(server, FakeRozetka):
        return Channel(server, "/orders/search", _rozetka_auth(server), lambda body: body["content"]["orders"],
                       lambda status, message: {"success": False, "errors": {"message": message, "code": status,
                                                                             "details": {}}})
    codes = {429: "woocommerce_rest_too_many_requests", 500: "internal_server_error"}
    return Channel(server, "/wp-json/wc/v3/orders", {"auth": (CONSUMER_KEY, CONSUMER_SECRET)}, lambda body: body,
                   lambda status, message: {"code": codes[status], "message": message, "data": {"status": status}})


def test_429_carries_retry_after_and_the_channels_error_body(channel: Channel) -> None:
    channel.server.add_order()
    channel.server.fail_next("429", count=2, retry_after=7)
    for _ in range(2):
        answer = channel.list()
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
        assert answer.json() == channel.error_body(429, "Too many requests")
    assert channel.list().status_code == 200 and len(channel.ids()) == 1


def test_500_is_the_channels_json_and_502_503_a_proxy_page(channel: Channel) -> None:
    channel.server.fail_next("500")
    answer = channel.list()
    assert answer.status_code == 500 and answer.json() == channel.error_body(500, "Internal server error")
    for status in ("502", "503"):
        channel.server.fail_next(status)
        answer = channel.list()
        assert answer.status_code == int(status) and answer.headers["Content-Type"].startswith("text/html")
        assert "<center>nginx</center>" in answer.text


def test_a_timeout_outlasts_the_client(channel: Channel) -> None:
    channel.server.fail_next("timeout", delay=3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        channel.list(timeout=0.3)
    assert channel.list().status_code == 200 and time.monotonic() - started < 2


def test_a_dropped_connection(channel: Channel) -> None:
    channel.server.fail_next("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        channel.list()
    assert channel.list().status_code == 200
    assert [r.status for r in channel.server.logged("GET", channel.list_path)] == [None, 200]


def test_a_listing_reordered_or_with_a_repeat(channel: Channel) -> None:
    for _ in range(3):
        channel.server.add_order()
    normal = channel.ids()
    channel.server.fail_next("reorder")
    assert channel.ids() == list(reversed(normal))
    channel.server.fail_next("duplicate")
    assert channel.ids() == [*normal, normal[0]]
    assert channel.ids() == normal


def test_success_false_with_http_200(prom_api: FakeProm, rozetka_api: FakeRozetka,
                                     woocommerce_api: FakeWooCommerce) -> None:
    prom_api.fail_next("success_false")
    answer = requests.get(f"{prom_api.base_url}/api/v1/orders/list", timeout=5,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.json() == {"error": "Internal error, try again later"}
    headers = _rozetka_auth(rozetka_api)["headers"]
    rozetka_api.fail_next("success_false")
    answer = requests.get(f"{rozetka_api.base_url}/orders/search", headers=headers, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"success": False, "errors": {"message": "Service temporarily unavailable", "code": 1000,
                                                          "details": {}}}
    with pytest.raises(ValueError, match="no HTTP 200 failure"):
        woocommerce_api.fail_next("success_false")
    with pytest.raises(ValueError, match="unknown fault kind"):
        prom_api.fail_next("slow")


def test_faults_only_on_their_path_and_the_request_log(prom_api: FakeProm) -> None:
    order = prom_api.add_order()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    prom_api.fail_next("503", count=2, path="/api/v1/orders/set_status", method="POST")
    body = {"ids": [order["id"]], "status": "received"}
    push = f"{prom_api.base_url}/api/v1/orders/set_status"
    assert requests.get(f"{prom_api.base_url}/api/v1/orders/list?limit=5", headers=headers, timeout=5).ok
    assert [requests.post(push, json=body, headers=headers, timeout=5).status_code for _ in range(3)] == [503, 503, 200]
    pushes = prom_api.logged("POST", "/api/v1/orders/set_status")
    assert [(r.status, r.fault) for r in pushes] == [(503, "503"), (503, "503"), (200, None)]
    assert all(r.json == body and r.query == {} for r in pushes)
    listing = prom_api.logged("GET", "/api/v1/orders/*")
    assert len(listing) == 1 and listing[0].query == {"limit": "5"} and listing[0].json is None
    assert abs(listing[0].time - time.time()) < 5
    assert len(prom_api.logged()) == 4


@pytest.mark.parametrize("kind", ["timeout", "drop"])
def test_a_push_carried_out_but_its_answer_lost(woocommerce_api: FakeWooCommerce, kind: str) -> None:
    order = woocommerce_api.add_order()
    woocommerce_api.fail_next(kind, processed=True, delay=2, method="PUT")
    with pytest.raises(requests.exceptions.ConnectionError if kind == "drop" else requests.exceptions.ReadTimeout):
        requests.put(f"{woocommerce_api.base_url}/wp-json/wc/v3/orders/{order['id']}", json={"status": "completed"},
                     auth=(CONSUMER_KEY, CONSUMER_SECRET), timeout=0.5)
    assert woocommerce_api.order(order["id"])["status"] == "completed"


def test_an_order_changed_during_paging_is_seen_twice_and_another_missed(woocommerce_api: FakeWooCommerce) -> None:
    a, b, c, d = (woocommerce_api.add_order(created=f"2026-12-0{n}T10:00:00")["id"] for n in range(1, 5))
    woocommerce_api.after_requests("/wp-json/wc/v3/orders", 1, lambda: woocommerce_api.modify_order(a))
    auth = (CONSUMER_KEY, CONSUMER_SECRET)

    def page(n: int) -> list[int]:
        params = {"orderby": "modified", "order": "asc", "per_page": 2, "page": n}
        return [o["id"] for o in requests.get(f"{woocommerce_api.base_url}/wp-json/wc/v3/orders", params=params,
                                              auth=auth, timeout=5).json()]

    assert page(1) == [a, b]
    assert page(2) == [d, a]   # a moved to the end: seen again; c slid onto page 1 behind the client: never seen
    assert c == b + 1


def test_a_new_order_during_paging_repeats_one(rozetka_api: FakeRozetka) -> None:
    ids = [rozetka_api.add_order()["id"] for _ in range(4)]
    rozetka_api.after_requests("/orders/search", 1, lambda: rozetka_api.add_order())
    headers = _rozetka_auth(rozetka_api)["headers"]

    def page(n: int) -> list[int]:
        params = {"page": n, "per-page": 2}
        answer = requests.get(f"{rozetka_api.base_url}/orders/search", params=params, headers=headers, timeout=5)
        return [o["id"] for o in answer.json()["content"]["orders"]]

    assert page(1) == [ids[3], ids[2]]
    assert page(2) == [ids[2], ids[1]]


def test_a_fake_as_its_own_process(fake_process: Callable[[str], FakeProcess]) -> None:
    prom = fake_process("prom")
    assert prom.state()["base_url"] == prom.base_url and prom.state()["orders"] == []
    order = requests.post(f"{prom.base_url}/_fake/orders", json={"status": "pending"}, timeout=5).json()
    assert prom.state()["orders"] == [order]
    requests.post(f"{prom.base_url}/_fake/faults", json={"kind": "429", "retry_after": 3}, timeout=5)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(f"{prom.base_url}/api/v1/orders/list", headers=headers, timeout=5).status_code == 429
    answer = requests.post(f"{prom.base_url}/api/v1/orders/set_status", headers=headers, timeout=5,
                           json={"ids": [order["id"]], "status": "received"})
    assert answer.json() == {"processed_ids": [order["id"]]}
    state = prom.state()
    assert state["orders"][0]["status"] == "received"
    assert [(r["method"], r["path"], r["status"]) for r in state["requests"]] == [
        ("GET", "/api/v1/orders/list", 429), ("POST", "/api/v1/orders/set_status", 200)]
    prom.stop()
    again = fake_process("prom")   # same state file: the orders and the request log are still there
    assert again.state()["orders"][0]["status"] == "received" and len(again.state()["requests"]) == 2


@pytest.mark.parametrize("name", ["rozetka", "woocommerce"])
def test_the_other_fakes_run_as_processes(fake_process: Callable[[str], FakeProcess], name: str) -> None:
    fake = fake_process(name)
    order = requests.post(f"{fake.base_url}/_fake/orders", json={}, timeout=5).json()
    assert fake.state()["orders"] == [order]
    moved = requests.post(f"{fake.base_url}/_fake/clock", json={"advance": 3600}, timeout=5).json()
    assert moved["now"] > order.get("date_created", order.get("created", ""))[:10]
