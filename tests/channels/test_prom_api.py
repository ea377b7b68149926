"""The Prom.ua adapter against the fake Prom API (tests/fakes/fake_prom.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fake_prom import TOKEN

from shopsync.channels import prom
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)


@pytest.fixture
def api(prom_api) -> prom.PromApi:
    host, port = prom_api.base_url.removeprefix("http://").split(":")
    connection = ConnectionInfo(conn_id="prom_demo", conn_type="http", host=host, port=int(port), schema="http",
                                password=TOKEN)
    return prom.connect(connection, FAST)


def test_orders_changed_since_a_time_come_page_by_page_each_once(prom_api, api):
    start = prom_api.now()
    old = prom_api.add_order(created=start - timedelta(days=2))
    made = [prom_api.add_order(created=start + timedelta(minutes=n)) for n in range(5)]
    api.page_size = 2

    pulled = list(api.orders_modified_since(start))

    assert sorted(order["id"] for order in pulled) == sorted(order["id"] for order in made)
    assert old["id"] not in {order["id"] for order in pulled}
    pages = prom_api.logged("GET", "/api/v1/orders/list")
    assert len(pages) == 3 and "last_id" not in pages[0].query and pages[1].query["limit"] == "2"


def test_an_old_order_changed_later_is_pulled_again(prom_api, api):
    start = prom_api.now()
    order = prom_api.add_order(created=start - timedelta(days=3))
    prom_api.advance(60)
    prom_api.modify_order(order["id"], status="canceled")
    [pulled] = list(api.orders_modified_since(start))
    assert (pulled["id"], pulled["status"]) == (order["id"], "canceled")


def test_status_and_waybill_reach_the_order(prom_api, api):
    order = prom_api.add_order()
    api.set_status(str(order["id"]), "received")
    api.save_declaration(str(order["id"]), "20450012345678", "nova_poshta")
    shown = api.order(str(order["id"]))
    assert shown["status"] == "received"
    assert shown["delivery_provider_data"]["declaration_number"] == "20450012345678"


def test_a_cancellation_carries_its_reason(prom_api, api):
    order = prom_api.add_order()
    api.set_status(str(order["id"]), "canceled", cancellation_reason="not_available")
    [sent] = prom_api.logged("POST", "/api/v1/orders/set_status")
    assert sent.json == {"ids": [order["id"]], "status": "canceled", "cancellation_reason": "not_available"}
    assert api.order(str(order["id"]))["status"] == "canceled"


def test_an_order_prom_does_not_know_is_a_refusal(api):
    with pytest.raises(RemoteRejected, match="order 999 was not changed"):
        api.set_status("999", "received")


def test_an_error_in_an_http_200_answer_is_a_refusal(prom_api, api):
    order = prom_api.add_order()
    prom_api.fail_next("success_false", path="/api/v1/orders/set_status")
    with pytest.raises(RemoteRejected):
        api.set_status(str(order["id"]), "received")


def test_overload_and_outages_are_retried(prom_api, api):
    order = prom_api.add_order()
    prom_api.fail_next("429", path="/api/v1/orders/set_status", retry_after=0)
    prom_api.fail_next("503", path="/api/v1/orders/set_status")
    api.set_status(str(order["id"]), "received")
    assert api.order(str(order["id"]))["status"] == "received"
    assert len(prom_api.logged("POST", "/api/v1/orders/set_status")) == 3


def test_a_channel_that_stays_down_is_a_retryable_error(prom_api, api):
    prom_api.fail_next("500", count=3)
    with pytest.raises(RemoteError) as down:
        list(api.orders_modified_since(prom_api.now()))
    assert down.value.retryable and TOKEN not in str(down.value)


def test_stock_and_prices_by_our_ids(prom_api, api):
    known = next(iter(prom_api.products))
    processed, errors = api.edit_products([
        {"id": known, "price": 1499.0, "quantity_in_stock": 3, "presence": "available"},
        {"id": "no-such-good", "quantity_in_stock": 1, "presence": "available"},
    ])
    assert processed == [known] and list(errors) == ["no-such-good"]
    assert (prom_api.products[known]["price"], prom_api.products[known]["quantity_in_stock"]) == (1499.0, 3)


def test_a_connection_without_a_token_is_refused_before_any_call():
    with pytest.raises(RemoteRejected, match="needs the API token"):
        prom.connect(ConnectionInfo(conn_id="prom_demo", host="my.prom.ua"))
