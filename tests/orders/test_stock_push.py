"""Free stock and prices pushed to the channels with a products API: only changes, in batches, never lost.

(Here beside the order tests for their `shop_db` fixture: goods 101-104 with stock and retail prices.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest
from fake_prom import TOKEN
from orderdata import execute, line, order, rows, scalar
from test_channel_push import prom_connection, wait_until_the_dead_run_s_lock_is_gone, with_channel

from shopsync.catalog.feeds.woocommerce_csv import item_sku
from shopsync.channels import binder, prom, woocommerce
from shopsync.channels.stock_push import push_stock
from shopsync.orders.apply import apply_order
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

TODAY = date(2026, 12, 7)
EDIT = "/api/v1/products/edit_by_external_id"
BATCH, PRODUCTS = "/wp-json/wc/v3/products/batch", "/wp-json/wc/v3/products"
# free stock over warehouses 1-3 in orderdata.GOODS: 101 -> 15, 102 -> 20, 103 -> 4, 104 -> 5
FREE = {"101": 15, "102": 20, "103": 4, "104": 5}


@pytest.fixture
def shop(tmp_path):
    return with_channel(tmp_path, "prom")


@pytest.fixture
def api(prom_api) -> prom.PromApi:
    for good_id in ("101", "102", "103"):                 # 104 is not on Prom
        prom_api.products[good_id] = {"id": 3200 + int(good_id), "external_id": good_id, "name": good_id,
                                      "price": 1.0, "quantity_in_stock": 0, "presence": "not_available"}
    return prom.connect(prom_connection(prom_api), RetryPolicy(attempts=1))


def push(engine, shop, sink, batch_size=100):
    return push_stock(engine, shop, shop.channel(sink.kind), sink, batch_size=batch_size)


def shown(prom_api, good_id: str) -> tuple:
    product = prom_api.products[good_id]
    return product["quantity_in_stock"], product["price"], product["presence"]


def sent_items(fake, path=EDIT) -> list[dict]:
    return [item for request in fake.logged("POST", path) for item in request.json]


def reserve(engine, good_id: int, quantity: str) -> None:
    apply_order(engine, "demo", order(f"R-{good_id}-{quantity}", [line(good_id, quantity)]), [1, 2, 3], None, TODAY)


def set_on_hand(engine, good_id: int, warehouse_id: int, on_hand: int) -> None:
    execute(engine, "UPDATE stock SET on_hand = :q WHERE good_id = :g AND warehouse_id = :w",
            q=on_hand, g=good_id, w=warehouse_id)


def test_free_stock_minus_a_reservation_reaches_prom_and_a_second_run_sends_nothing(shop_db, shop, api, prom_api):
    reserve(shop_db, 102, "3")
    first = push(shop_db, shop, api)

    assert shown(prom_api, "102") == (17, 2200.0, "available")
    assert shown(prom_api, "101") == (15, 1500.0, "available") and shown(prom_api, "103") == (4, 900.0, "available")
    assert (first.pushed, first.batches) == (3, 1)
    second = push(shop_db, shop, api)
    assert (second.pushed, second.refused, second.batches) == (0, 0, 0)
    assert len(prom_api.logged("POST", EDIT)) == 1


def test_only_the_good_that_changed_is_sent_and_a_withdrawn_good_is_told_it_is_gone(shop_db, shop, api, prom_api):
    push(shop_db, shop, api)
    set_on_hand(shop_db, 101, 1, 7)                                        # 15 -> 20
    push(shop_db, shop, api)
    assert sent_items(prom_api)[-1:] == [{"id": "101", "quantity_in_stock": 20, "presence": "available",
                                          "price": 1500.0}]
    assert len(sent_items(prom_api)) == 5                                  # 4 + 1 (104 was refused, not resent)

    execute(shop_db, "UPDATE prices SET price = 950 WHERE good_id = 103")
    execute(shop_db, "UPDATE goods SET is_visible = false WHERE id = 102")
    push(shop_db, shop, api)
    assert {item["id"] for item in sent_items(prom_api)[5:]} == {"102", "103"}
    assert shown(prom_api, "103") == (4, 950.0, "available")
    assert shown(prom_api, "102") == (0, 2200.0, "not_available")


def test_a_fraction_of_a_unit_is_not_offered_and_stock_never_goes_below_zero(shop_db, shop, api, prom_api):
    execute(shop_db, "UPDATE stock SET on_hand = 0.6 WHERE good_id = 103")
    push(shop_db, shop, api)
    assert shown(prom_api, "103") == (0, 900.0, "not_available")


def test_a_channel_that_was_down_gets_everything_it_missed(shop_db, shop, api, prom_api):
    push(shop_db, shop, api)
    set_on_hand(shop_db, 101, 3, 0)                                        # 15 -> 5
    reserve(shop_db, 102, "2")                                             # 20 -> 18
    prom_api.fail_next("503", path=EDIT)
    with pytest.raises(RemoteError):
        push(shop_db, shop, api)
    assert scalar(shop_db, "SELECT count(*) FROM channel_bindings WHERE pending_hash IS NOT NULL "
                           "AND last_error IS NOT NULL AND refused_hash IS NULL") == 2
    set_on_hand(shop_db, 103, 3, 1)                                        # 4 -> 1

    back = push(shop_db, shop, api)
    assert back.pushed == 3
    assert [shown(prom_api, g)[0] for g in ("101", "102", "103")] == [5, 18, 1]
    assert scalar(shop_db, "SELECT count(*) FROM channel_bindings WHERE pending_hash IS NOT NULL "
                           "AND refused_hash IS NULL") == 0


def test_an_unknown_product_is_refused_once_and_not_sent_again_until_it_changes(shop_db, shop, api, prom_api):
    first = push(shop_db, shop, api)
    assert first.refused == 1 and "not found" in first.refusals[0] and first.refusals[0].startswith("good 104")
    push(shop_db, shop, api)
    assert [item["id"] for item in sent_items(prom_api)].count("104") == 1

    set_on_hand(shop_db, 104, 1, 4)
    assert push(shop_db, shop, api).refused == 1                           # a new state is tried once more
    prom_api.products["104"] = {"id": 3304, "external_id": "104", "name": "104", "price": 1.0,
                                "quantity_in_stock": 0, "presence": "not_available"}
    set_on_hand(shop_db, 104, 1, 5)
    assert push(shop_db, shop, api).pushed == 1 and shown(prom_api, "104") == (7, 700.0, "available")
    assert [item["id"] for item in sent_items(prom_api)].count("104") == 3


def test_batches_split_at_batch_size(shop_db, shop, api, prom_api):
    summary = push(shop_db, shop, api, batch_size=2)
    assert [len(request.json) for request in prom_api.logged("POST", EDIT)] == [2, 2]
    assert (summary.batches, summary.pushed, summary.refused) == (2, 3, 1)


def woocommerce_setup(tmp_path, woocommerce_api):
    from fake_woocommerce_base import CONSUMER_KEY, CONSUMER_SECRET

    for good_id in (101, 102, 103):                                        # 104 has no product there
        woocommerce_api.add_product(f"good-{good_id}", str(good_id), "1", 0, product_id=800 + good_id)
    host, port = woocommerce_api.base_url.removeprefix("http://").split(":")
    api = woocommerce.connect(ConnectionInfo(conn_id="woocommerce_demo", host=host, port=int(port), schema="http",
                                             login=CONSUMER_KEY, password=CONSUMER_SECRET), RetryPolicy(attempts=1))
    return with_channel(tmp_path, "woocommerce"), api


def test_woocommerce_products_are_found_by_sku_once(shop_db, tmp_path, woocommerce_api):
    shop, api = woocommerce_setup(tmp_path, woocommerce_api)
    execute(shop_db, "INSERT INTO prices (good_id, price_type_id, currency, price) VALUES (101, 2, 'UAH', 1800)")
    first = push(shop_db, shop, api)
    looked_up = len(woocommerce_api.logged("GET", PRODUCTS))

    assert (first.pushed, first.not_found, first.looked_up) == (3, 1, 4) and looked_up >= 1
    product = woocommerce_api.products[901]
    assert (product["stock_quantity"], product["regular_price"], product["sale_price"]) == (15, "1800.00", "1500.00")
    assert woocommerce_api.products[902]["stock_quantity"] == 20
    assert scalar(shop_db, "SELECT external_id FROM channel_bindings WHERE internal_id = 102") == "902"

    set_on_hand(shop_db, 102, 1, 0)
    second = push(shop_db, shop, api)
    assert (second.pushed, second.looked_up) == (1, 0)
    assert len(woocommerce_api.logged("GET", PRODUCTS)) == looked_up           # no lookup again
    assert woocommerce_api.products[902]["stock_quantity"] == 10
    assert woocommerce_api.logged("POST", BATCH)[-1].json == {"update": [
        {"id": 902, "manage_stock": True, "stock_quantity": 10, "stock_status": "instock",
         "regular_price": "2200.00", "sale_price": ""}]}


def test_a_woocommerce_product_made_later_is_found_when_its_good_changes(shop_db, tmp_path, woocommerce_api):
    shop, api = woocommerce_setup(tmp_path, woocommerce_api)
    push(shop_db, shop, api)
    assert push(shop_db, shop, api).looked_up == 0                             # the missing one is not asked again
    woocommerce_api.add_product("good-104", "104", "1", 0, product_id=1104)
    set_on_hand(shop_db, 104, 1, 1)

    summary = push(shop_db, shop, api)
    assert (summary.looked_up, summary.pushed) == (1, 1)
    assert woocommerce_api.products[1104]["stock_quantity"] == 3
    assert scalar(shop_db, "SELECT external_id FROM channel_bindings WHERE internal_id = 104") == "1104"


def test_the_sku_looked_up_is_the_one_the_woocommerce_feed_writes():
    assert woocommerce.good_sku(7) == item_sku(SimpleNamespace(good_id=7))


def test_two_stock_pushes_of_one_channel_never_interleave_but_a_status_push_may_run_beside(shop_db, shop, api):
    with binder.channel_push_lock(shop_db, shop.id, "prom", "stock"), pytest.raises(binder.ChannelBusy,
                                                                                     match="pushing stock to prom"):
        push(shop_db, shop, api)
    with binder.channel_push_lock(shop_db, shop.id, "prom", "statuses"):
        assert push(shop_db, shop, api).pushed >= 1


CHILD = """
import os, signal, sys
import sqlalchemy as sa
from shopsync.channels import binder, prom
from shopsync.channels.stock_push import push_stock
from shopsync.core.config import ShopSettings
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)       # after the channel answered, before the record

binder._acknowledge_batch = die
shop = ShopSettings.model_validate_json(sys.argv[2])
host, port, token = sys.argv[3:6]
api = prom.connect(ConnectionInfo(conn_id="prom_demo", host=host, port=int(port), schema="http", password=token),
                   RetryPolicy(attempts=1))
push_stock(sa.create_engine(sys.argv[1]), shop, shop.channel("prom"), api, batch_size=100)
"""


def test_kill_9_between_the_push_and_its_record_then_a_rerun(shop_db, db_url, shop, api, prom_api):
    connection = prom_connection(prom_api)
    child = subprocess.run([sys.executable, "-c", CHILD, db_url, shop.model_dump_json(), connection.host,
                            str(connection.port), TOKEN], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert shown(prom_api, "101")[0] == 15                                 # the channel has it, we do not know
    assert scalar(shop_db, "SELECT count(*) FROM channel_bindings WHERE pending_hash IS NOT NULL") == 4
    wait_until_the_dead_run_s_lock_is_gone(shop_db)
    set_on_hand(shop_db, 101, 1, 0)                                        # changed meanwhile: 15 -> 13

    rerun = push(shop_db, shop, api)
    assert rerun.pushed == 3                                               # the same absolute values again, or newer
    assert [shown(prom_api, g)[0] for g in ("101", "102", "103")] == [13, 20, 4]
    assert push(shop_db, shop, api).pushed == 0
    assert rows(shop_db, "SELECT count(*) AS n FROM channel_bindings WHERE pushed_hash IS NOT NULL")[0].n == 3


def test_a_refused_request_keeps_every_intent_for_the_next_run(shop_db, shop, api, prom_api):
    wrong = prom.connect(replace(prom_connection(prom_api), password="wrong"), RetryPolicy(attempts=1))
    with pytest.raises(RemoteRejected):
        push(shop_db, shop, wrong)
    assert scalar(shop_db, "SELECT count(*) FROM channel_bindings WHERE pending_hash IS NOT NULL") == 4
    assert scalar(shop_db, "SELECT count(*) FROM channel_bindings WHERE refused_hash IS NOT NULL") == 0

    assert push(shop_db, shop, api).pushed == 3 and shown(prom_api, "102") == (20, 2200.0, "available")
