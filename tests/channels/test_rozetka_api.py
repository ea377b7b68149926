"""The Rozetka adapter against the fake Rozetka Seller API (tests/fakes/fake_rozetka.py)."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta

import pytest
from fake_rozetka import PASSWORD, TOKEN_PREFIX, USERNAME

from shopsync.channels import rozetka
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
ENCODED_PASSWORD = base64.b64encode(PASSWORD.encode()).decode()


def connection_to(server, password: str = PASSWORD) -> ConnectionInfo:
    host, port = server.base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id="rozetka_demo", conn_type="http", host=host, port=int(port), schema="http",
                          login=USERNAME, password=password)


@pytest.fixture
def api(rozetka_api) -> rozetka.RozetkaApi:
    return rozetka.connect(connection_to(rozetka_api), FAST)


def ids_of(orders) -> list[int]:
    return [order["id"] for order in orders]


def test_orders_changed_since_come_page_by_page_and_paging_stops_at_page_count(rozetka_api, api):
    start = rozetka_api.now()
    old = rozetka_api.add_order(created=start - timedelta(days=2))
    made = [rozetka_api.add_order(created=start + timedelta(minutes=n)) for n in range(5)]
    api.page_size = 2

    pulled = list(api.orders_changed_since(start))

    assert sorted(ids_of(pulled)) == sorted(ids_of(made)) and old["id"] not in ids_of(pulled)
    pages = rozetka_api.logged("GET", "/orders/search")
    assert [page.query["page"] for page in pages] == ["1", "2", "3"]   # never a 4th: it would repeat the 3rd
    assert pages[0].query == {"changed_from": rozetka.kyiv_time(start), "types": "1", "page": "1", "per-page": "2",
                              "expand": rozetka.ORDER_FIELDS}


def test_nothing_changed_is_one_call(rozetka_api, api):
    rozetka_api.add_order(created=rozetka_api.now() - timedelta(days=2))
    assert list(api.orders_changed_since(rozetka_api.now())) == []
    assert len(rozetka_api.logged("GET", "/orders/search")) == 1


def test_an_old_order_changed_later_is_pulled_again(rozetka_api, api):
    start = rozetka_api.now()
    order = rozetka_api.add_order(created=start - timedelta(days=3))
    rozetka_api.advance(60)
    rozetka_api.modify_order(order["id"], status=26)
    [pulled] = list(api.orders_changed_since(start))
    assert (pulled["id"], pulled["status"]) == (order["id"], 26)


def test_a_listing_that_moves_while_paged_skips_nothing_and_repeats_only_what_changed(rozetka_api, api):
    start = rozetka_api.now()
    made = ids_of(rozetka_api.add_order(created=start + timedelta(minutes=n)) for n in range(5))
    api.page_size = 2

    def meanwhile() -> None:   # a new order pushes the listing down; the second order on page 1 changes
        rozetka_api.add_order(created=start + timedelta(minutes=10))
        rozetka_api.modify_order(made[3], status=26, changed=start + timedelta(minutes=20))

    rozetka_api.after_requests("/orders/search", 1, meanwhile)
    pulled = list(api.orders_changed_since(start))

    assert ids_of(pulled) == [made[4], made[3], made[3], made[2], made[1], made[0]]
    assert [order["status"] for order in pulled[1:3]] == [1, 26]


def test_an_order_listed_twice_unchanged_comes_once(rozetka_api, api):
    start = rozetka_api.now()
    made = ids_of(rozetka_api.add_order(created=start + timedelta(minutes=n)) for n in range(3))
    rozetka_api.fail_next("duplicate", path="/orders/search")
    assert sorted(ids_of(api.orders_changed_since(start))) == sorted(made)


def test_the_login_sends_the_password_in_base64_and_its_token_serves_every_call(rozetka_api, api):
    rozetka_api.add_order()
    list(api.orders_changed_since(rozetka_api.now() - timedelta(hours=1)))
    list(api.orders_changed_since(rozetka_api.now() - timedelta(hours=1)))
    [login] = rozetka_api.logged("POST", "/sites")
    assert login.json == {"username": USERNAME, "password": ENCODED_PASSWORD}
    assert api.client.auth.logins == 1 and len(rozetka_api.tokens) == 1


@pytest.mark.parametrize("token_error_status", [200, 401])
def test_a_token_that_expires_mid_run_is_renewed_once_and_the_call_repeated(rozetka_api, api, token_error_status):
    rozetka_api.token_error_status = token_error_status
    start = rozetka_api.now()
    made = ids_of(rozetka_api.add_order(created=start + timedelta(minutes=n)) for n in range(4))
    api.page_size = 2
    rozetka_api.after_requests("/orders/search", 1, rozetka_api.expire_tokens)

    pulled = list(api.orders_changed_since(start))

    assert sorted(ids_of(pulled)) == sorted(made)
    assert len(rozetka_api.logged("POST", "/sites")) == 2 and len(rozetka_api.tokens) == 2
    assert [r.query["page"] for r in rozetka_api.logged("GET", "/orders/search")] == ["1", "2", "2"]


def test_a_token_refused_right_after_login_is_an_error_not_a_loop(rozetka_api, api):
    rozetka_api.token_max_calls = 0
    with pytest.raises(RemoteError, match="Incorrect access token"):
        list(api.orders_changed_since(rozetka_api.now()))
    assert len(rozetka_api.logged("POST", "/sites")) == 2


def test_a_wrong_password_is_a_clear_refusal_without_the_password(rozetka_api):
    wrong = "Wr0ng-Passw0rd-Zx81"
    api = rozetka.connect(connection_to(rozetka_api, password=wrong), FAST)
    with pytest.raises(RemoteRejected) as refused:
        api.order(1)
    message = str(refused.value)
    assert message == ("rozetka (connection rozetka_demo): the login of user 'shopsync-rozetka' was refused "
                       "(Incorrect username or password (code 1010)): check the connection's login and password")
    assert refused.value.code == "1010" and not refused.value.retryable
    assert wrong not in message and base64.b64encode(wrong.encode()).decode() not in message
    assert len(rozetka_api.logged("POST", "/sites")) == 1 and rozetka_api.logged("GET") == []


def test_a_connection_without_login_or_password_is_refused_before_any_call():
    with pytest.raises(RemoteRejected, match="needs the seller's username"):
        rozetka.connect(ConnectionInfo(conn_id="rozetka_demo", host="api-seller.rozetka.com.ua", login=USERNAME))


def test_overload_and_outages_are_retried(rozetka_api, api):
    order = rozetka_api.add_order(status=1)
    rozetka_api.fail_next("429", path="/orders/*", method="PUT", retry_after=0)
    rozetka_api.fail_next("502", path="/orders/*", method="PUT")
    api.set_status(order["id"], 26)
    assert rozetka_api.order(order["id"])["status"] == 26
    assert len(rozetka_api.logged("PUT", f"/orders/{order['id']}")) == 3


def test_a_login_that_meets_an_outage_is_retried_without_nesting_retries(rozetka_api, api):
    order = rozetka_api.add_order(status=1)
    rozetka_api.fail_next("503", path="/sites")
    assert api.order(order["id"])["id"] == order["id"]
    assert len(rozetka_api.logged("POST", "/sites")) == 2       # one refused by the proxy, one that worked
    rozetka_api.fail_next("503", count=5, path="/sites")
    api.client.auth.renew(api.client)
    with pytest.raises(RemoteError, match="POST /sites answered 503"):
        api.order(order["id"])
    assert len(rozetka_api.logged("POST", "/sites")) == 2 + FAST.attempts   # not attempts squared


def test_a_channel_that_stays_down_is_a_retryable_error(rozetka_api, api):
    rozetka_api.fail_next("500", count=3, path="/orders/search")
    with pytest.raises(RemoteError) as down:
        list(api.orders_changed_since(rozetka_api.now()))
    assert down.value.retryable and "answered 500" in str(down.value)


def test_success_false_with_http_200_is_a_refusal_with_its_code(rozetka_api, api):
    order = rozetka_api.add_order(status=1)
    with pytest.raises(RemoteRejected, match=r"Status 6 is not available for order in status 1 \(code 1050\)") \
            as refused:
        api.set_status(order["id"], 6)
    assert refused.value.code == "1050" and not refused.value.retryable
    rozetka_api.fail_next("success_false", path="/orders/search")
    with pytest.raises(RemoteRejected, match=r"Service temporarily unavailable \(code 1000\)") as refused:
        list(api.orders_changed_since(rozetka_api.now()))
    assert refused.value.code == "1000"
    with pytest.raises(RemoteRejected, match="Order not found") as unknown:
        api.order(1)
    assert unknown.value.code == "1040"


def test_status_available_says_which_moves_are_allowed(rozetka_api, api):
    order = rozetka_api.add_order(status=1)
    assert api.allowed_statuses(order["id"]) == {26, 2, 18, 49}
    moved = api.set_status(order["id"], 26, seller_comment="Підтверджено")
    assert rozetka.allowed_statuses(moved) == {2, 61, 3, 18, 49}
    assert moved["current_seller_comment"] == "Підтверджено"
    with pytest.raises(RemoteRejected, match="code 1050"):   # the same move twice is refused by Rozetka
        api.set_status(order["id"], 26)


@pytest.mark.parametrize("status", [3, 61])
def test_a_status_that_needs_a_waybill_is_refused_here_without_one(rozetka_api, api, status):
    order = rozetka_api.add_order(status=26)
    for ttn in (None, "", "  "):
        with pytest.raises(RemoteRejected, match=f"status {status} needs a waybill"):
            api.set_status(order["id"], status, ttn=ttn)
    assert rozetka_api.logged() == []   # not even a login


def test_the_waybill_goes_with_the_status(rozetka_api, api):
    order = rozetka_api.add_order(status=26)
    api.set_status(order["id"], 61, ttn="2045 0000 1234 56", seller_comment="Відправимо завтра")
    [sent] = rozetka_api.logged("PUT", f"/orders/{order['id']}")
    assert sent.json == {"status": 61, "ttn": "20450000123456", "seller_comment": "Відправимо завтра"}
    shown = api.order(order["id"])
    assert (shown["status"], shown["ttn"]) == (61, "20450000123456")


def test_secrets_never_reach_messages_or_logs(rozetka_api, api, caplog):
    caplog.set_level(logging.DEBUG)
    rozetka_api.token_ttl = 600
    list(api.orders_changed_since(rozetka_api.now()))
    token = api.client.auth.token
    assert token and token.startswith(TOKEN_PREFIX)
    secrets = [PASSWORD, ENCODED_PASSWORD, token]
    echo = f"echo {' '.join(secrets)}"
    rozetka_api.error_body = lambda status, message: {"success": False, "errors": {"message": echo, "code": status}}
    rozetka_api.success_false_body = lambda: {"success": False, "errors": {"message": echo, "code": 1000}}
    messages = []
    for kind, count in (("500", 3), ("success_false", 1)):
        rozetka_api.fail_next(kind, count=count, path="/orders/search")
        with pytest.raises((RemoteError, RemoteRejected)) as failed:
            list(api.orders_changed_since(rozetka_api.now()))
        messages.append(str(failed.value))
    rozetka_api.advance(601)   # the token dies: a new login, and the new token is a secret too
    order = rozetka_api.add_order(status=1)
    with pytest.raises(RemoteRejected) as refused:
        api.set_status(order["id"], 6)
    messages.append(str(refused.value))
    secrets.append(api.client.auth.token)
    shown = "\n".join(messages) + "\n" + caplog.text + "\n" + repr(api) + repr(api.client.auth)
    assert "answered 500" in caplog.text and all("***" in message for message in messages[:2])
    assert [secret for secret in secrets if secret in shown] == []


def test_a_listing_without_its_page_count_is_refused_not_read_as_one_page(api, monkeypatch):
    listing = {"success": True, "content": {"orders": [{"id": 1, "changed": "2026-12-07 10:00:00"}]}}
    monkeypatch.setattr(api.client, "call", lambda *args, **kwargs: listing)
    with pytest.raises(RemoteRejected, match="without _meta.pageCount"):
        list(api.orders_changed_since(datetime(2026, 12, 7, tzinfo=UTC)))
