"""Contract tests of the fake WooCommerce REST v3 API: auth, orders, notes, products and their batch update."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fake_woocommerce import CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce

AUTH = (CONSUMER_KEY, CONSUMER_SECRET)
API = "/wp-json/wc/v3"


def call(server: FakeWooCommerce, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(method, f"{server.base_url}{API}{path}", auth=AUTH, json=body, params=params, timeout=5)


@pytest.mark.parametrize("auth, code, message", [
    (None, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    (("ck_other", CONSUMER_SECRET), "woocommerce_rest_authentication_error", "Consumer key is invalid."),
    ((CONSUMER_KEY, "cs_other"), "woocommerce_rest_authentication_error", "Consumer secret is invalid."),
])
def test_auth_failures(woocommerce_api: FakeWooCommerce, auth: Any, code: str, message: str) -> None:
    answer = requests.get(f"{woocommerce_api.base_url}{API}/orders", auth=auth, timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {"code": code, "message": message, "data": {"status": 401}}


def test_keys_as_query_parameters(woocommerce_api: FakeWooCommerce) -> None:
    params = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}
    assert requests.get(f"{woocommerce_api.base_url}{API}/orders", params=params, timeout=5).status_code == 200


def test_an_order_has_the_documented_shape(woocommerce_api: FakeWooCommerce) -> None:
    made = woocommerce_api.add_order(products=[("SKU-1001", 1), ("SKU-1002", 2)],
                                     created="2026-12-07T10:15:00+02:00")
    order = call(woocommerce_api, "GET", f"/orders/{made['id']}").json()
    assert order == made
    assert order["status"] == "processing" and order["currency"] == "UAH" and order["number"] == str(order["id"])
    assert order["date_created"] == "2026-12-07T10:15:00" and order["date_created_gmt"] == "2026-12-07T08:15:00"
    assert order["total"] == "1690.00" and order["shipping_total"] == "0.00"
    assert {"first_name", "last_name", "email", "phone", "city", "address_1"} <= order["billing"].keys()
    towels = order["line_items"][1]
    assert towels["sku"] == "SKU-1002" and towels["quantity"] == 2 and towels["total"] == "488.00"
    assert towels["price"] == 244.0 and isinstance(towels["price"], float)   # a number, unlike the totals
    assert towels["product_id"] == woocommerce_api.product_by_sku("SKU-1002")["id"]
    assert order["shipping_lines"][0]["method_title"] == "Нова Пошта"


def test_an_unknown_route_is_404(woocommerce_api: FakeWooCommerce) -> None:
    answer = call(woocommerce_api, "GET", "/shipments")
    assert answer.status_code == 404
    assert answer.json() == {"code": "rest_no_route", "message": "No route was found matching the URL and request "
                             "method.", "data": {"status": 404}}


def test_an_unknown_order_is_404(woocommerce_api: FakeWooCommerce) -> None:
    answer = call(woocommerce_api, "GET", "/orders/77")
    assert answer.status_code == 404
    assert answer.json() == {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
                             "data": {"status": 404}}


def test_listing_pages_with_total_headers(woocommerce_api: FakeWooCommerce) -> None:
    ids = [woocommerce_api.add_order(created=f"2026-12-0{n + 1}T10:00:00")["id"] for n in range(5)]
    first = call(woocommerce_api, "GET", "/orders", per_page=2)
    assert first.headers["X-WP-Total"] == "5" and first.headers["X-WP-TotalPages"] == "3"
    assert [o["id"] for o in first.json()] == [ids[4], ids[3]]   # newest created first by default
    oldest = call(woocommerce_api, "GET", "/orders", per_page=2, page=1, orderby="id", order="asc")
    assert [o["id"] for o in oldest.json()] == ids[:2]
    past = call(woocommerce_api, "GET", "/orders", per_page=2, page=4)
    assert past.status_code == 200 and past.json() == [] and past.headers["X-WP-Total"] == "5"
    assert len(call(woocommerce_api, "GET", "/orders").json()) == 5   # per_page 10 by default


def test_listing_page_3_holds_the_oldest(woocommerce_api: FakeWooCommerce) -> None:
    ids = [woocommerce_api.add_order(created=f"2026-12-0{n + 1}T10:00:00")["id"] for n in range(5)]
    assert [o["id"] for o in call(woocommerce_api, "GET", "/orders", per_page=2, page=3).json()] == [ids[0]]


@pytest.mark.parametrize("params, bad", [({"per_page": 101}, "per_page"), ({"per_page": 0}, "per_page"),
                                         ({"page": 0}, "page"), ({"orderby": "total"}, "orderby"),
                                         ({"order": "up"}, "order"), ({"modified_after": "soon"}, "modified_after")])
def test_invalid_listing_parameters(woocommerce_api: FakeWooCommerce, params: dict[str, Any], bad: str) -> None:
    answer = call(woocommerce_api, "GET", "/orders", **params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param" and body["message"] == f"Invalid parameter(s): {bad}"
    assert body["data"]["status"] == 400 and bad in body["data"]["params"]


def test_modified_after_and_status_filters(woocommerce_api: FakeWooCommerce) -> None:
    old = woocommerce_api.add_order(created="2026-12-01T10:00:00")
    new = woocommerce_api.add_order(created="2026-12-03T10:00:00", status="on-hold")
    woocommerce_api.modify_order(old["id"], modified="2026-12-04T10:00:00")

    def ids(**params: Any) -> list[int]:
        return [o["id"] for o in call(woocommerce_api, "GET", "/orders", **params).json()]

    assert ids(modified_after="2026-12-02T00:00:00", orderby="modified", order="asc") == [new["id"], old["id"]]
    assert ids(modified_after="2026-12-03T12:00:00") == [old["id"]]
    assert ids(modified_after="2026-12-03T09:00:00", dates_are_gmt="true") == [old["id"]]   # 10:00 Kyiv = 08:00
    assert ids(modified_after="2026-12-03T07:00:00Z") == [new["id"], old["id"]]
    assert ids(after="2026-12-02T00:00:00") == [new["id"]]
    assert ids(status="on-hold") == [new["id"]] and ids(status="processing,on-hold") == [new["id"], old["id"]]


def test_put_changes_the_status_and_adds_the_system_note(woocommerce_api: FakeWooCommerce) -> None:
    order = woocommerce_api.add_order(created="2026-12-01T10:00:00")
    answer = call(woocommerce_api, "PUT", f"/orders/{order['id']}", {"status": "completed",
                                                                       "meta_data": [{"key": "ttn", "value": "2045"}]})
    assert answer.status_code == 200
    changed = answer.json()
    assert changed == woocommerce_api.order(order["id"])
    assert changed["status"] == "completed" and changed["date_completed"] is not None
    assert changed["date_modified"] > order["date_modified"]
    assert [(m["key"], m["value"]) for m in changed["meta_data"]] == [("ttn", "2045")]
    [note] = woocommerce_api.order_notes(order["id"])
    assert note["note"] == "Order status changed from Processing to Completed."
    assert note["customer_note"] is False and note["author"] == "system"


def test_put_refuses_an_unknown_status(woocommerce_api: FakeWooCommerce) -> None:
    order = woocommerce_api.add_order()
    answer = call(woocommerce_api, "PUT", f"/orders/{order['id']}", {"status": "shipped"})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param" and body["message"] == "Invalid parameter(s): status"
    assert body["data"]["status"] == 400 and body["data"]["params"]["status"].startswith("status is not one of pending")
    assert call(woocommerce_api, "PUT", "/orders/5", {"status": "completed"}).status_code == 404


def test_notes(woocommerce_api: FakeWooCommerce) -> None:
    order = woocommerce_api.add_order()
    answer = call(woocommerce_api, "POST", f"/orders/{order['id']}/notes",
                  {"note": "Відправлено Новою Поштою, ТТН 20450000012345", "customer_note": True})
    assert answer.status_code == 201
    note = answer.json()
    assert set(note) == {"id", "author", "date_created", "date_created_gmt", "note", "customer_note"}
    assert note["customer_note"] is True and note["note"].endswith("20450000012345")
    assert call(woocommerce_api, "GET", f"/orders/{order['id']}/notes").json() == [note]
    missing = call(woocommerce_api, "POST", f"/orders/{order['id']}/notes", {"customer_note": True})
    assert missing.status_code == 400
    assert missing.json() == {"code": "rest_missing_callback_param", "message": "Missing parameter(s): note",
                              "data": {"status": 400, "params": ["note"]}}


def test_products_found_by_sku(woocommerce_api: FakeWooCommerce) -> None:
    found = call(woocommerce_api, "GET", "/products", sku="SKU-1002,SKU-1005").json()
    assert {(p["sku"], p["id"]) for p in found} == {("SKU-1002", 802), ("SKU-1005", 805)}
    product = call(woocommerce_api, "GET", "/products/802").json()
    assert product["regular_price"] == "244" and product["stock_quantity"] == 10 and product["manage_stock"] is True
    assert call(woocommerce_api, "GET", "/products/9").json()["code"] == "woocommerce_rest_product_invalid_id"


def test_batch_update_by_id(woocommerce_api: FakeWooCommerce) -> None:
    body = {"update": [{"id": 801, "regular_price": "1300.00", "stock_quantity": 0},
                       {"id": 802, "regular_price": 250, "sale_price": "199", "stock_quantity": 4},
                       {"id": 999, "stock_quantity": 1}, {"sku": "SKU-1003", "stock_quantity": 1}]}
    answer = call(woocommerce_api, "POST", "/products/batch", body)
    assert answer.status_code == 200
    kettle, towels, unknown, by_sku = answer.json()["update"]
    assert (kettle["regular_price"], kettle["stock_quantity"], kettle["stock_status"]) == ("1300.00", 0, "outofstock")
    assert (towels["regular_price"], towels["price"], towels["on_sale"]) == ("250", "199", True)
    error = {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}
    assert unknown == {"id": 999, "error": error} and by_sku == {"id": 0, "error": error}
    assert woocommerce_api.product_by_sku("SKU-1002")["stock_quantity"] == 4
    assert woocommerce_api.product_by_sku("SKU-1003")["stock_quantity"] == 10


def test_batch_update_by_sku_when_allowed(woocommerce_api: FakeWooCommerce) -> None:
    woocommerce_api.batch_by_sku = True
    answer = call(woocommerce_api, "POST", "/products/batch", {"update": [{"sku": "SKU-1003", "stock_quantity": 2}]})
    assert answer.json()["update"][0]["id"] == 803 and woocommerce_api.product_by_sku("SKU-1003")["stock_quantity"] == 2


def test_batch_of_more_than_100_is_413(woocommerce_api: FakeWooCommerce) -> None:
    answer = call(woocommerce_api, "POST", "/products/batch", {"update": [{"id": 801}] * 101})
    assert answer.status_code == 413
    assert answer.json() == {"code": "woocommerce_rest_request_entity_too_large",
                             "message": "Unable to accept more than 100 items for this request.",
                             "data": {"status": 413}}
