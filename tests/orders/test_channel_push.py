"""Invoice states pushed to the channel each order came from: once, in order, and never lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fake_prom import TOKEN
from orderdata import rows, scalar
from test_ingest import shop_settings

from shopsync.channels import prom
from shopsync.core.config import ShopSettings
from shopsync.orders import workflow
from shopsync.orders.channel_pull import pull_orders
from shopsync.orders.channel_push import push_statuses
from shopsync.transport.api_client import RemoteError
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

TODAY = date(2026, 12, 7)
SET_STATUS, DECLARATION = "/api/v1/orders/set_status", "/api/v1/delivery/save_declaration_id"


def with_channel(tmp_path: Path, kind: str, **extra) -> ShopSettings:
    settings = shop_settings(tmp_path / "inbox")
    return ShopSettings.model_validate({**settings.model_dump(),
                                        "channels": [{"kind": kind, "conn_id": f"{kind}_demo", **extra}]})


def prom_connection(prom_api) -> ConnectionInfo:
    host, port = prom_api.base_url.removeprefix("http://").split(":")
    return ConnectionInfo(conn_id="prom_demo", host=host, port=int(port), schema="http", password=TOKEN)


@pytest.fixture
def shop(tmp_path) -> ShopSettings:
    return with_channel(tmp_path, "prom")


@pytest.fixture
def api(prom_api) -> prom.PromApi:
    return prom.connect(prom_connection(prom_api), RetryPolicy(attempts=1))


def pulled(engine, shop, api, fake, **order) -> tuple[dict, int]:
    made = fake.add_order(**order)
    pull_orders(engine, shop, shop.channel(api.kind), api, now=fake.now(), today=TODAY)
    invoice_id = scalar(engine, "SELECT internal_id FROM channel_bindings WHERE external_id = :e", e=str(made["id"]))
    return made, invoice_id


def push(engine, shop, api):
    return push_statuses(engine, shop, shop.channel(api.kind), api)


def test_an_accepted_order_is_told_once(shop_db, shop, api, prom_api):
    made, _ = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    first, second = push(shop_db, shop, api), push(shop_db, shop, api)

    assert (first.pushed, second.pushed) == (1, 0)
    [sent] = prom_api.logged("POST", SET_STATUS)
    assert sent.json == {"ids": [made["id"]], "status": "received"}
    assert prom_api.order(made["id"])["status"] == "received"


def test_shipping_sends_the_waybill_and_delivery_the_last_status(shop_db, shop, api, prom_api):
    made, invoice_id = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    push(shop_db, shop, api)
    with shop_db.begin() as conn:
        workflow.ship(conn, invoice_id, "Нова пошта", "20450012345678")
    push(shop_db, shop, api)
    assert prom_api.order(made["id"])["delivery_provider_data"]["declaration_number"] == "20450012345678"
    [declaration] = prom_api.logged("POST", DECLARATION)
    assert declaration.json == {"order_id": made["id"], "declaration_id": "20450012345678",
                                "delivery_type": "nova_poshta"}

    with shop_db.begin() as conn:
        workflow.deliver(conn, invoice_id, cod_received=True)
    assert push(shop_db, shop, api).pushed == 1
    assert prom_api.order(made["id"])["status"] == "delivered"


def test_a_cancellation_goes_with_its_reason(shop_db, shop, api, prom_api):
    made, invoice_id = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    with shop_db.begin() as conn:
        workflow.cancel(conn, invoice_id, "not_available")
    push(shop_db, shop, api)
    [sent] = prom_api.logged("POST", SET_STATUS)
    assert sent.json == {"ids": [made["id"]], "status": "canceled", "cancellation_reason": "not_available",
                         "cancellation_text": "not_available"}


def test_a_cancellation_that_came_from_the_channel_is_not_sent_back(shop_db, shop, api, prom_api):
    made, _ = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    prom_api.advance(60)
    prom_api.modify_order(made["id"], status="canceled")
    pull_orders(shop_db, shop, shop.channel("prom"), api, now=prom_api.now(), today=TODAY)

    summary = push(shop_db, shop, api)
    assert (summary.recognised, summary.pushed) == (1, 0) and prom_api.logged("POST", SET_STATUS) == []


def test_an_answer_lost_after_the_channel_acted_is_recognised_not_sent_again(shop_db, shop, api, prom_api):
    made, _ = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    prom_api.fail_next("drop", path=SET_STATUS, processed=True)          # done, but the answer never comes
    with pytest.raises(RemoteError):
        push(shop_db, shop, api)

    summary = push(shop_db, shop, api)
    assert (summary.recognised, summary.pushed) == (1, 0)
    assert len(prom_api.logged("POST", SET_STATUS)) == 1
    assert scalar(shop_db, "SELECT pending_hash IS NULL AND pushed_hash IS NOT NULL FROM channel_bindings")


def test_a_channel_that_was_down_gets_what_it_missed(shop_db, shop, api, prom_api):
    made, _ = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    prom_api.fail_next("503", path=SET_STATUS)
    with pytest.raises(RemoteError):
        push(shop_db, shop, api)
    assert push(shop_db, shop, api).pushed == 1
    assert prom_api.order(made["id"])["status"] == "received"


CHILD = """
import os, signal, sys
import sqlalchemy as sa
from shopsync.channels import binder, prom
from shopsync.core.config import ShopSettings
from shopsync.orders.channel_push import push_statuses
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)       # after the channel answered, before the record

binder._acknowledge = die
shop = ShopSettings.model_validate_json(sys.argv[2])
host, port, token = sys.argv[3:6]
api = prom.connect(ConnectionInfo(conn_id="prom_demo", host=host, port=int(port), schema="http", password=token),
                   RetryPolicy(attempts=1))
push_statuses(sa.create_engine(sys.argv[1]), shop, shop.channel("prom"), api)
"""


def wait_until_the_dead_run_s_lock_is_gone(engine) -> None:
    """The server drops a killed client's session (and its advisory lock) once it sees the socket closed."""
    deadline = time.monotonic() + 20
    while scalar(engine, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7420003"):
        assert time.monotonic() < deadline, "the killed run's push lock was never released"
        time.sleep(0.05)


def test_kill_9_between_the_push_and_its_record_then_a_rerun(shop_db, db_url, shop, api, prom_api):
    made, _ = pulled(shop_db, shop, api, prom_api, products=[("102", 1)])
    connection = prom_connection(prom_api)
    child = subprocess.run([sys.executable, "-c", CHILD, db_url, shop.model_dump_json(), connection.host,
                            str(connection.port), TOKEN], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert prom_api.order(made["id"])["status"] == "received"
    wait_until_the_dead_run_s_lock_is_gone(shop_db)

    summary = push(shop_db, shop, api)
    assert summary.recognised == 1 and len(prom_api.logged("POST", SET_STATUS)) == 1


def test_rozetka_hears_acceptance_then_the_waybill_and_a_refused_move_is_kept(shop_db, tmp_path, rozetka_api):
    from fake_rozetka import PASSWORD, USERNAME

    from shopsync.channels import rozetka

    shop = with_channel(tmp_path, "rozetka")
    host, port = rozetka_api.base_url.removeprefix("http://").split(":")
    api = rozetka.connect(ConnectionInfo(conn_id="rozetka_demo", host=host, port=int(port), schema="http",
                                         login=USERNAME, password=PASSWORD), RetryPolicy(attempts=1))
    made, invoice_id = pulled(shop_db, shop, api, rozetka_api, products=[("102", 1)])

    assert push(shop_db, shop, api).pushed == 1
    assert rozetka_api.order(made["id"])["status"] == 26
    with shop_db.begin() as conn:
        workflow.ship(conn, invoice_id, "Нова пошта", "20450012345678")
    assert push(shop_db, shop, api).pushed == 1
    shown = rozetka_api.order(made["id"])
    assert (shown["status"], shown["ttn"]) == (61, "20450012345678")

    with shop_db.begin() as conn:                      # a status Rozetka does not allow from 61
        conn.execute(sa.text("UPDATE invoices SET status = 'reserved' WHERE id = :i"),
                     {"i": invoice_id})
        conn.execute(sa.text("DELETE FROM delivery_notes WHERE invoice_id = :i"),
                     {"i": invoice_id})
    refused = push(shop_db, shop, api)
    again = push(shop_db, shop, api)
    assert (refused.refused, again.refused) == (1, 1) and "not allowed" in refused.refusals[0]
    assert rows(shop_db, "SELECT attempts FROM channel_bindings")[0].attempts == 1


def test_woocommerce_hears_completion_with_the_waybill_note_once(shop_db, tmp_path, woocommerce_api):
    from fake_woocommerce_base import CONSUMER_KEY, CONSUMER_SECRET

    from shopsync.channels import woocommerce

    shop = with_channel(tmp_path, "woocommerce")
    host, port = woocommerce_api.base_url.removeprefix("http://").split(":")
    api = woocommerce.connect(ConnectionInfo(conn_id="woocommerce_demo", host=host, port=int(port), schema="http",
                                             login=CONSUMER_KEY, password=CONSUMER_SECRET), RetryPolicy(attempts=1))
    made, invoice_id = pulled(shop_db, shop, api, woocommerce_api, products=[("good-102", 1)])
    push(shop_db, shop, api)
    with shop_db.begin() as conn:
        workflow.ship(conn, invoice_id, "Нова пошта", "20450012345678")
    push(shop_db, shop, api)
    push(shop_db, shop, api)

    assert woocommerce_api.order(made["id"])["status"] == "completed"
    notes = [note for note in api.notes(str(made["id"])) if "20450012345678" in note["note"]]
    assert len(notes) == 1 and notes[0]["customer_note"] is True
