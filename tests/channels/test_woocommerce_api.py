"""The WooCommerce adapter against the fake WooCommerce REST API (tests/fakes/fake_woocommerce.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fake_woocommerce import CONSUMER_KEY, CONSUMER_SECRET

from shopsync.channels import woocommerce
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
API = "/wp-json/wc/v3"
WRONG_SECRET = "cs_wrongS3cretThatMustNotShow0001"


def connection_to(server, secret: str = CONSUMER_SECRET) -> ConnectionInfo:
    host, port = server.base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id="woo_demo", conn_type="http", host=host, port=int(port), schema="http",
                          login=CONSUMER_KEY, password=secret)


@pytest.fixture
def api(woocommerce_api) -> woocommerce.WooCommerceApi:
    return woocommerce.connect(connection_to(woocommerce_api), FAST)


def test_orders_changed_since_a_time_come_page_by_page_each_once(woocommerce_api, api):
    start = woocommerce_api.now()
    old = woocommerce_api.add_order(created=start - timedelta(days=2))
    made = [woocommerce_api.add_order(created=start + timedelta(minutes=n)) for n in range(5)]
    api.page_size = 2

    pulled = list(api.orders_changed_since(start))

    assert [order["id"] for order in pulled] == [order["id"] for order in reversed(made)]   # newest change first
    assert old["id"] not in {order["id"] for order in pulled}
    pages = woocommerce_api.logged("GET", f"{API}/orders")
    assert [page.query["page"] for page in pages] == ["1", "2", "3"]
    assert pages[0].query["per_page"] == "2" and pages[0].query["dates_are_gmt"] == "true"
    assert pages[0].query["orderby"] == "modified"


def test_since_includes_its_own_second(woocommerce_api, api):
    start = woocommerce_api.now()
    order = woocommerce_api.add_order(created=start)
    assert [pulled["id"] for pulled in api.orders_changed_since(start)] == [order["id"]]


def test_an_old_order_changed_later_is_pulled_again(woocommerce_api, api):
    start = woocommerce_api.now()
    order = woocommerce_api.add_order(created=start - timedelta(days=3))
    woocommerce_api.advance(60)
    woocommerce_api.modify_order(order["id"], status="cancelled")
    [pulled] = list(api.orders_changed_since(start))
    assert (pulled["id"], pulled["status"]) == (order["id"], "cancelled")


def test_orders_changed_or_added_between_two_pages_leave_no_gap(woocommerce_api, api):
    start = woocommerce_api.now()
    made = [woocommerce_api.add_order(created=start + timedelta(minutes=n)) for n in range(5)]
    api.page_size = 2
    later: list[int] = []

    def meanwhile() -> None:
        woocommerce_api.modify_order(made[0]["id"], modified=start + timedelta(hours=1))
        later.append(woocommerce_api.add_order(created=start + timedelta(hours=2))["id"])

    woocommerce_api.after_requests(f"{API}/orders", 1, meanwhile)
    pulled = [order["id"] for order in api.orders_changed_since(start)]

    assert {order["id"] for order in made[1:]} <= set(pulled) and len(pulled) == len(set(pulled))
    again = [order["id"] for order in api.orders_changed_since(start + timedelta(minutes=30))]
    assert again == [*later, made[0]["id"]]   # changed after the pull began: the next pull has them


def test_an_order_deleted_between_two_pages_makes_the_listing_start_again(woocommerce_api, api):
    start = woocommerce_api.now()
    made = [woocommerce_api.add_order(created=start + timedelta(minutes=n)) for n in range(5)]
    api.page_size = 2
    woocommerce_api.after_requests(f"{API}/orders", 1, lambda: woocommerce_api.orders.pop(made[4]["id"]))

    pulled = [order["id"] for order in api.orders_changed_since(start)]

    assert sorted(pulled) == [order["id"] for order in made]
    assert [page.query["page"] for page in woocommerce_api.logged("GET", f"{API}/orders")] == ["1", "2", "1", "2"]


def test_a_repeated_listing_item_is_pulled_once(woocommerce_api, api):
    start = woocommerce_api.now()
    made = [woocommerce_api.add_order(created=start + timedelta(minutes=n)) for n in range(3)]
    woocommerce_api.fail_next("duplicate", path=f"{API}/orders")
    pulled = [order["id"] for order in api.orders_changed_since(start)]
    assert sorted(pulled) == sorted(order["id"] for order in made)


def test_status_and_waybill_note_reach_the_order(woocommerce_api, api):
    order = woocommerce_api.add_order()
    changed = api.set_status(str(order["id"]), "completed")
    note = api.add_note(str(order["id"]), "Відправлено Новою Поштою, ТТН 20450012345678")
    assert changed["status"] == "completed" == api.order(str(order["id"]))["status"]
    assert note["customer_note"] is True
    notes = woocommerce_api.order_notes(order["id"])
    assert [(n["note"], n["customer_note"]) for n in notes][0] == (note["note"], True)


def test_a_note_already_there_is_not_added_again(woocommerce_api, api):
    order = woocommerce_api.add_order()
    first = api.add_note(str(order["id"]), "ТТН 20450012345678")
    again = api.add_note(str(order["id"]), "ТТН 20450012345678")
    assert again == first and len(woocommerce_api.logged("POST", f"{API}/orders/*/notes")) == 1


def test_a_note_whose_answer_was_lost_is_added_once(woocommerce_api, api):
    order = woocommerce_api.add_order()
    woocommerce_api.fail_next("drop", path=f"{API}/orders/*/notes", method="POST", processed=True)
    note = api.add_note(str(order["id"]), "ТТН 20450012345678", customer_note=True)
    customer_notes = [n for n in woocommerce_api.order_notes(order["id"]) if n["customer_note"]]
    assert [n["id"] for n in customer_notes] == [note["id"]]


def test_a_note_refused_for_overload_is_sent_again(woocommerce_api, api):
    order = woocommerce_api.add_order()
    woocommerce_api.fail_next("429", path=f"{API}/orders/*/notes", method="POST", retry_after=0)
    api.add_note(str(order["id"]), "ТТН 20450012345678")
    assert len(woocommerce_api.logged("POST", f"{API}/orders/*/notes")) == 2
    assert len([n for n in woocommerce_api.order_notes(order["id"]) if n["customer_note"]]) == 1


def test_batch_update_applies_the_good_items_and_reports_the_bad_one(woocommerce_api, api):
    updated, errors = api.update_products([
        {"id": 801, "regular_price": "1300.00", "stock_quantity": 0},
        {"id": 999, "stock_quantity": 1},
        {"id": 802, "stock_quantity": 4},
    ])
    assert updated == ["801", "802"] and list(errors) == ["999"] and "Invalid ID." in errors["999"]
    assert woocommerce_api.products[801]["stock_quantity"] == 0 and woocommerce_api.products[801]["price"] == "1300.00"
    assert woocommerce_api.products[802]["stock_quantity"] == 4


def test_batches_stay_within_the_limit(woocommerce_api, api):
    api.batch_size = 2
    updated, errors = api.update_products([{"id": pid, "stock_quantity": 7} for pid in (801, 802, 803)])
    assert updated == ["801", "802", "803"] and not errors
    assert [len(r.json["update"]) for r in woocommerce_api.logged("POST", f"{API}/products/batch")] == [2, 1]


def test_product_ids_by_sku(woocommerce_api, api):
    api.skus_per_lookup, api.page_size = 2, 1
    found = api.product_ids_by_sku(["SKU-1002", "SKU-1005", "SKU-1001", "NO-SUCH", "A,B", ""])
    assert found == {"SKU-1001": 801, "SKU-1002": 802, "SKU-1005": 805}


def test_wrong_keys_are_a_refusal_that_does_not_show_the_secret(woocommerce_api, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = woocommerce.connect(connection_to(woocommerce_api, WRONG_SECRET), FAST)
    with pytest.raises(RemoteRejected) as refused:
        wrong.order("1201")
    assert refused.value.status == 401 and not refused.value.retryable
    assert "consumer key and secret were refused" in str(refused.value)
    assert WRONG_SECRET not in str(refused.value) and WRONG_SECRET not in caplog.text
    assert len(woocommerce_api.logged()) == 1   # renewing cannot help: no second try


def test_overload_and_outages_are_retried(woocommerce_api, api):
    order = woocommerce_api.add_order()
    woocommerce_api.fail_next("429", path=f"{API}/orders/*", method="PUT", retry_after=0)
    woocommerce_api.fail_next("503", path=f"{API}/orders/*", method="PUT")
    api.set_status(str(order["id"]), "on-hold")
    assert woocommerce_api.order(order["id"])["status"] == "on-hold"
    assert len(woocommerce_api.logged("PUT")) == 3


def test_a_channel_that_stays_down_is_a_retryable_error(woocommerce_api, api, caplog):
    caplog.set_level(logging.DEBUG)
    woocommerce_api.fail_next("500", count=3)
    with pytest.raises(RemoteError) as down:
        list(api.orders_changed_since(woocommerce_api.now()))
    assert down.value.retryable and "internal_server_error" in str(down.value)
    for secret in (CONSUMER_KEY, CONSUMER_SECRET):
        assert secret not in str(down.value) and secret not in caplog.text


@pytest.mark.parametrize("call, code, status", [
    (lambda api, oid: api.set_status(oid, "shipped"), "rest_invalid_param", 400),
    (lambda api, oid: api.set_status("77", "completed"), "woocommerce_rest_shop_order_invalid_id", 404),
    (lambda api, oid: api.add_note(oid, ""), "rest_missing_callback_param", 400),
])
def test_error_json_is_a_refusal_with_code_and_message(woocommerce_api, api, call, code, status):
    order = woocommerce_api.add_order()
    with pytest.raises(RemoteRejected) as refused:
        call(api, str(order["id"]))
    assert (refused.value.code, refused.value.status) == (code, status) and code in str(refused.value)
    assert len(woocommerce_api.logged(method="PUT")) + len(woocommerce_api.logged(method="POST")) == 1   # no retry


def test_the_site_as_a_whole_url_and_another_api_root(woocommerce_api):
    connection = ConnectionInfo(conn_id="woo_demo", host=woocommerce_api.base_url + "/", login=CONSUMER_KEY,
                                password=CONSUMER_SECRET, extra={"api_root": "wp-json/wc/v3/"})
    api = woocommerce.connect(connection, FAST)
    assert api.api_root == API
    assert api.order(str(woocommerce_api.add_order()["id"]))["status"] == "processing"


def test_a_connection_without_keys_is_refused_before_any_call():
    with pytest.raises(RemoteRejected, match="consumer key as its login"):
        woocommerce.connect(ConnectionInfo(conn_id="woo_demo", host="shop.example.com.ua", password="cs_x"))
