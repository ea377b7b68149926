"""Contract tests of the fake Rozetka Seller API: login, expiring tokens, orders/search, PUT /orders/{id}."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from fake_rozetka import PASSWORD, TOKEN_PREFIX, USERNAME, FakeRozetka

TOKEN_ERROR = {"success": False, "errors": {"message": "Incorrect access token", "code": 1020, "details": {}}}


def login(server: FakeRozetka, password: str = PASSWORD) -> requests.Response:
    body = {"username": USERNAME, "password": base64.b64encode(password.encode()).decode()}
    return requests.post(f"{server.base_url}/sites", json=body, timeout=5)


def token_of(server: FakeRozetka) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(server).json()['content']['access_token']}"}


def search(server: FakeRozetka, headers: dict[str, str], **params: Any) -> requests.Response:
    return requests.get(f"{server.base_url}/orders/search", headers=headers, params=params, timeout=5)


def put(server: FakeRozetka, headers: dict[str, str], order_id: int, body: dict[str, Any]) -> requests.Response:
    return requests.put(f"{server.base_url}/orders/{order_id}", headers=headers, json=body, timeout=5)


def test_login_gives_a_token(rozetka_api: FakeRozetka) -> None:
    answer = login(rozetka_api)
    assert answer.status_code == 200 and answer.json()["success"] is True
    assert answer.json()["content"]["access_token"].startswith(TOKEN_PREFIX)


@pytest.mark.parametrize("body", [{"username": USERNAME, "password": base64.b64encode(b"wrong").decode()},
                                  {"username": USERNAME, "password": PASSWORD},      # not base64
                                  {"username": "someone", "password": base64.b64encode(PASSWORD.encode()).decode()}])
def test_a_wrong_login_is_success_false_with_http_200(rozetka_api: FakeRozetka, body: dict[str, str]) -> None:
    answer = requests.post(f"{rozetka_api.base_url}/sites", json=body, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"success": False, "errors": {"message": "Incorrect username or password", "code": 1010,
                                                          "details": {}}}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer rozetka-test-token-made-up"}])
def test_no_or_unknown_token(rozetka_api: FakeRozetka, headers: dict[str, str]) -> None:
    answer = search(rozetka_api, headers)
    assert answer.status_code == 200 and answer.json() == TOKEN_ERROR


def test_a_token_expires_after_its_time(rozetka_api: FakeRozetka) -> None:
    rozetka_api.token_ttl = 600
    headers = token_of(rozetka_api)
    assert search(rozetka_api, headers).json()["success"] is True
    rozetka_api.advance(601)
    assert search(rozetka_api, headers).json() == TOKEN_ERROR
    assert search(rozetka_api, token_of(rozetka_api)).json()["success"] is True   # a new login helps


def test_a_token_expires_after_its_calls_and_on_demand(rozetka_api: FakeRozetka) -> None:
    rozetka_api.token_max_calls = 2
    headers = token_of(rozetka_api)
    assert [search(rozetka_api, headers).json()["success"] for _ in range(3)] == [True, True, False]
    rozetka_api.token_max_calls = None
    headers = token_of(rozetka_api)
    rozetka_api.expire_tokens()
    assert search(rozetka_api, headers).json() == TOKEN_ERROR


def test_the_401_variant_of_an_expired_token(rozetka_api: FakeRozetka) -> None:
    rozetka_api.token_error_status = 401
    answer = search(rozetka_api, {"Authorization": "Bearer nothing"})
    assert answer.status_code == 401 and answer.json() == TOKEN_ERROR


def test_an_order_has_the_documented_shape(rozetka_api: FakeRozetka) -> None:
    made = rozetka_api.add_order(products=[("SKU-1001", 1), ("SKU-1004", 2)], created="2026-12-07 10:15:00")
    answer = search(rozetka_api, token_of(rozetka_api))
    assert answer.status_code == 200
    content = answer.json()["content"]
    assert content["_meta"] == {"totalCount": 1, "pageCount": 1, "currentPage": 1, "perPage": 20}
    order = content["orders"][0]
    assert order == made
    assert order["created"] == order["changed"] == "2026-12-07 10:15:00"
    assert order["amount"] == order["amount_with_discount"] == order["cost"] == "1461.80"
    assert order["status"] == 1 and order["status_group"] == 1 and order["ttn"] is None
    assert set(order["user_title"]) == {"first_name", "last_name", "second_name", "full_name"}
    assert order["user_phone"].startswith("380")
    assert order["delivery"]["delivery_service_name"] == "Нова Пошта"
    assert {"name"} <= order["delivery"]["city"].keys() and "place_number" in order["delivery"]
    mug = order["purchases"][1]
    assert mug["quantity"] == 2 and mug["price"] == "129.90" and mug["cost"] == "259.80"
    assert mug["item"]["price_offer_id"] == mug["item"]["article"] == "SKU-1004"
    assert {"item_id", "item_name"} <= mug.keys()
    assert order["status_available"] == [{"parent_id": 1, "child_id": c} for c in (26, 2, 18, 49)]
    single = requests.get(f"{rozetka_api.base_url}/orders/{made['id']}", headers=token_of(rozetka_api), timeout=5)
    assert single.json() == {"success": True, "content": made}


def test_search_pages_and_a_page_past_the_end_repeats_the_last(rozetka_api: FakeRozetka) -> None:
    ids = [rozetka_api.add_order()["id"] for _ in range(5)]
    headers = token_of(rozetka_api)

    def page(n: int) -> tuple[list[int], dict[str, int]]:
        content = search(rozetka_api, headers, page=n, **{"per-page": 2}).json()["content"]
        return [o["id"] for o in content["orders"]], content["_meta"]

    assert page(1) == ([ids[4], ids[3]], {"totalCount": 5, "pageCount": 3, "currentPage": 1, "perPage": 2})
    assert page(2)[0] == [ids[2], ids[1]]
    assert page(3) == ([ids[0]], {"totalCount": 5, "pageCount": 3, "currentPage": 3, "perPage": 2})
    assert page(4) == page(3)   # Yii2 clamps: stop at pageCount, not at an empty page


def test_search_filters(rozetka_api: FakeRozetka) -> None:
    new = rozetka_api.add_order(created="2026-12-01 09:00:00")
    done = rozetka_api.add_order(status=6, created="2026-12-02 09:00:00")
    failed = rozetka_api.add_order(status=45, created="2026-12-03 09:00:00")
    shipping = rozetka_api.add_order(status=3, ttn="20450000011111", created="2026-12-04 09:00:00")
    rozetka_api.modify_order(new["id"], changed="2026-12-05 12:00:00")
    headers = token_of(rozetka_api)

    def ids(**params: Any) -> set[int]:
        return {o["id"] for o in search(rozetka_api, headers, **params).json()["content"]["orders"]}

    assert ids(types=1) == {new["id"], done["id"], failed["id"], shipping["id"]}
    assert ids(types=2) == {new["id"], shipping["id"]}
    assert ids(types=3) == {done["id"]} and ids(types=6) == {failed["id"]}
    assert ids(types=4) == {new["id"]} and ids(types=5) == {shipping["id"]}
    assert ids(status="6,45") == {done["id"], failed["id"]}
    assert ids(created_from="2026-12-02 00:00:00", created_to="2026-12-03 23:59:59") == {done["id"], failed["id"]}
    assert ids(changed_from="2026-12-05 00:00:00") == {new["id"]}
    assert search(rozetka_api, headers, types=9).json()["success"] is False


def test_put_needs_a_ttn_for_3_and_61(rozetka_api: FakeRozetka) -> None:
    order = rozetka_api.add_order(status=26)
    headers = token_of(rozetka_api)
    refused = put(rozetka_api, headers, order["id"], {"status": 61})
    assert refused.status_code == 200
    assert refused.json() == {"success": False, "errors": {"message": "ttn is required for status 61", "code": 1050,
                                                           "details": {"status": 61, "ttn": None}}}
    answer = put(rozetka_api, headers, order["id"], {"status": 61, "ttn": "20450000012345",
                                                     "seller_comment": "Відправимо завтра"})
    assert answer.status_code == 200 and answer.json()["success"] is True
    changed = answer.json()["content"]
    assert changed == rozetka_api.order(order["id"])
    assert changed["status"] == 61 and changed["ttn"] == "20450000012345"
    assert changed["current_seller_comment"] == "Відправимо завтра"
    assert changed["status_available"] == [{"parent_id": 61, "child_id": 3}]
    assert put(rozetka_api, headers, order["id"], {"status": 3}).json()["success"] is True   # ttn already known


def test_put_refuses_a_move_not_in_status_available(rozetka_api: FakeRozetka) -> None:
    order = rozetka_api.add_order(status=1)
    headers = token_of(rozetka_api)
    answer = put(rozetka_api, headers, order["id"], {"status": 6})
    assert answer.status_code == 200
    assert answer.json()["errors"]["message"] == "Status 6 is not available for order in status 1"
    assert put(rozetka_api, headers, order["id"], {"status": 26}).json()["success"] is True
    again = put(rozetka_api, headers, order["id"], {"status": 26}).json()   # the same push twice is refused
    assert again["success"] is False and again["errors"]["code"] == 1050
    spaced = put(rozetka_api, headers, order["id"], {"ttn": "2045 0000"}).json()
    assert spaced["errors"]["message"] == "ttn: digits only"
    assert put(rozetka_api, headers, 1, {"status": 26}).json()["errors"]["code"] == 1040
