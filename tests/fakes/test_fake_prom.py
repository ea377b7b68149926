"""Contract tests of the fake Prom.ua API: the shapes the Prom adapter is built against, asserted literally."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fake_prom import TOKEN, FakeProm, format_uah

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(server: FakeProm, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{server.base_url}/api/v1{path}", headers=AUTH, params=params, timeout=5)


def post(server: FakeProm, path: str, body: Any) -> requests.Response:
    return requests.post(f"{server.base_url}/api/v1{path}", headers=AUTH, json=body, timeout=5)


def test_money_is_a_localized_string() -> None:
    assert format_uah(1202) == "1 202,00 грн"
    assert format_uah(244, cents=False) == "244 грн"
    assert format_uah(129.9, cents=False) == "129,90 грн"
    assert format_uah(1234567.5) == "1 234 567,50 грн"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_a_missing_or_wrong_token_gets_401_json(prom_api: FakeProm, headers: dict[str, str]) -> None:
    answer = requests.get(f"{prom_api.base_url}/api/v1/orders/list", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {"error": "Authorization failed: invalid or missing token"}


def test_an_order_has_the_documented_shape(prom_api: FakeProm) -> None:
    made = prom_api.add_order(products=[("SKU-1001", 1), ("SKU-1002", 2)], declaration_number="20450000012345",
                              payment_status=None, with_email=False)
    order = get(prom_api, f"/orders/{made['id']}").json()["order"]
    assert order == made
    assert isinstance(order["id"], int) and order["status"] == "pending" and order["status_name"] == "Нове"
    assert order["date_created"].endswith("+02:00") and order["date_modified"] == order["date_created"]
    assert order["email"] is None and order["payment_data"] is None
    assert order["price"] == order["full_price"] == "1 690,00 грн"
    assert order["phone"].startswith("+380") and len(order["phone"]) == 13
    assert {"client_first_name", "client_second_name", "client_last_name", "client_id", "delivery_option",
            "delivery_address", "payment_option", "source", "cancellation"} <= order.keys()
    provider = order["delivery_provider_data"]
    assert provider["provider"] == "nova_poshta" and provider["type"] == "W2W"
    assert provider["declaration_number"] == "20450000012345"
    assert {"recipient_warehouse_id", "recipient_address"} <= provider.keys()
    assert {"city_name", "warehouse_id"} <= provider["recipient_address"].keys()
    kettle, towels = order["products"]
    assert kettle["external_id"] == "SKU-1001" and kettle["price"] == "1 202 грн" and kettle["quantity"] == 1.0
    assert towels["price"] == "244 грн" and towels["quantity"] == 2.0 and towels["total_price"] == "488 грн"
    assert isinstance(towels["quantity"], float)
    assert set(towels["name_multilang"]) == {"ru", "uk"} and towels["measure_unit"] == "шт."


def test_payment_data_and_email_when_present(prom_api: FakeProm) -> None:
    order = prom_api.add_order(payment_status="paid", with_email=True)
    assert order["payment_data"] == {"type": "cash_on_delivery", "status": "paid"}
    assert order["email"].endswith("@example.com.ua")


def test_an_unknown_order_is_404(prom_api: FakeProm) -> None:
    answer = get(prom_api, "/orders/999")
    assert answer.status_code == 404 and answer.json() == {"error": "Order not found"}


def test_listing_pages_newest_id_first_by_limit_and_last_id(prom_api: FakeProm) -> None:
    ids = [prom_api.add_order()["id"] for _ in range(5)]
    first = get(prom_api, "/orders/list", limit=2).json()["orders"]
    assert [o["id"] for o in first] == [ids[4], ids[3]]
    second = get(prom_api, "/orders/list", limit=2, last_id=first[-1]["id"]).json()["orders"]
    assert [o["id"] for o in second] == [ids[2], ids[1]]
    last = get(prom_api, "/orders/list", limit=2, last_id=second[-1]["id"]).json()["orders"]
    assert [o["id"] for o in last] == [ids[0]]
    assert get(prom_api, "/orders/list", limit=2, last_id=ids[0]).json() == {"orders": []}
    assert len(get(prom_api, "/orders/list", limit=500).json()["orders"]) == 5   # at most 100 a page
    assert get(prom_api, "/orders/list", limit="x").status_code == 400


def test_listing_filters_by_dates_and_status(prom_api: FakeProm) -> None:
    old = prom_api.add_order(created="2026-12-01T10:00:00+02:00")
    new = prom_api.add_order(created="2026-12-05T10:00:00+02:00", status="received")
    prom_api.modify_order(old["id"], modified="2026-12-06T09:00:00+02:00")

    def listed(**params: Any) -> list[int]:
        return [o["id"] for o in get(prom_api, "/orders/list", **params).json()["orders"]]

    assert listed(date_from="2026-12-03T00:00:00") == [new["id"]]
    assert listed(date_to="2026-12-03T00:00:00") == [old["id"]]
    assert listed(last_modified_from="2026-12-06T00:00:00+02:00") == [old["id"]]
    assert listed(status="received") == [new["id"]]
    assert get(prom_api, "/orders/list", date_from="yesterday").status_code == 400


def test_set_status_answers_the_processed_ids(prom_api: FakeProm) -> None:
    order = prom_api.add_order(created="2026-12-01T10:00:00+02:00")
    answer = post(prom_api, "/orders/set_status", {"ids": [order["id"], 12345], "status": "received"})
    assert answer.status_code == 200 and answer.json() == {"processed_ids": [order["id"]]}
    changed = prom_api.order(order["id"])
    assert changed["status"] == "received" and changed["status_name"] == "Прийняте"
    assert changed["date_modified"] > order["date_modified"]


def test_cancel_with_a_reason_and_text(prom_api: FakeProm) -> None:
    order = prom_api.add_order()
    body = {"ids": [order["id"]], "status": "canceled", "cancellation_reason": "another",
            "cancellation_text": "Покупець передумав"}
    assert post(prom_api, "/orders/set_status", body).json() == {"processed_ids": [order["id"]]}
    changed = prom_api.order(order["id"])
    assert changed["status"] == "canceled"
    assert changed["cancellation"] == {"title": "Покупець передумав", "initiator": "seller", "reason": "another"}


def test_a_custom_status(prom_api: FakeProm) -> None:
    order = prom_api.add_order()
    assert post(prom_api, "/orders/set_status", {"ids": [order["id"]], "custom_status_id": 7001}).json() == {
        "processed_ids": [order["id"]]}
    assert prom_api.order(order["id"])["status"] == "custom-7001"
    assert prom_api.order(order["id"])["status_name"] == "Чекає передоплату"


@pytest.mark.parametrize("body, message", [
    ({"status": "shipped"}, "status: unknown status 'shipped'"),
    ({"status": "canceled"}, "cancellation_reason: unknown reason None"),
    ({"status": "canceled", "cancellation_reason": "bored"}, "cancellation_reason: unknown reason 'bored'"),
    ({"status": "canceled", "cancellation_reason": "another"}, "cancellation_text: required for the reason 'another'"),
    ({"custom_status_id": 1}, "custom_status_id: unknown custom status 1"),
])
def test_invalid_status_changes_are_refused(prom_api: FakeProm, body: dict[str, Any], message: str) -> None:
    order = prom_api.add_order()
    answer = post(prom_api, "/orders/set_status", {"ids": [order["id"]], **body})
    assert answer.status_code == 400 and answer.json() == {"error": message}
    assert prom_api.order(order["id"])["status"] == "pending"
    assert post(prom_api, "/orders/set_status", {"ids": [], "status": "received"}).status_code == 400


def test_save_declaration_id(prom_api: FakeProm) -> None:
    order = prom_api.add_order()
    body = {"order_id": order["id"], "declaration_id": "20450000099999", "delivery_type": "nova_poshta"}
    answer = post(prom_api, "/delivery/save_declaration_id", body)
    assert answer.status_code == 200 and answer.json() == {"status": "success"}
    assert prom_api.order(order["id"])["delivery_provider_data"]["declaration_number"] == "20450000099999"
    assert prom_api.order(order["id"])["status"] == "pending"   # Prom does not mark delivery itself
    bad = post(prom_api, "/delivery/save_declaration_id", {**body, "delivery_type": "dhl"})
    assert bad.status_code == 400 and bad.json() == {"error": "delivery_type: one of nova_poshta, ukrposhta, meest"}
    assert post(prom_api, "/delivery/save_declaration_id", {**body, "order_id": 1}).status_code == 404


def test_edit_products_by_external_id(prom_api: FakeProm) -> None:
    body = [{"id": "SKU-1001", "price": 1250.0, "quantity_in_stock": 3, "presence": "available"},
            {"id": "SKU-1002", "quantity_in_stock": 0, "presence": "not_available"},
            {"id": "NO-SUCH", "quantity_in_stock": 1}, {"id": "SKU-1003", "presence": "maybe"}]
    answer = post(prom_api, "/products/edit_by_external_id", body)
    assert answer.status_code == 200
    assert answer.json() == {"processed_ids": ["SKU-1001", "SKU-1002"], "errors": {
        "NO-SUCH": "Product with this external id not found",
        "SKU-1003": "presence: one of available, not_available, order, waiting, service"}}
    assert prom_api.products["SKU-1001"] == {"id": 3100, "external_id": "SKU-1001", "name": "Чайник електричний 1,7 л",
                                             "price": 1250.0, "quantity_in_stock": 3, "presence": "available"}
    assert prom_api.products["SKU-1002"]["presence"] == "not_available"
    assert prom_api.products["SKU-1003"]["presence"] == "available"
