"""Exactly one waybill when a shipping run is killed (-9) after the carrier created the document and before our
record: the fake Nova Poshta runs as its own process, carries out the save and then holds its answer; the run,
a process of its own, is killed while it waits. The next run finds the document and records it once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from fake_channels import start_fake_process
from orderdata import free, scalar
from shipdata import (
    SHIP_DATE,
    invoice,
    load_directory,
    on_hand,
    opener,
    ordered,
    requested,
    shipment,
    shop_with_carrier,
)

from shopsync.orders.fulfilment import shipping

CHILD = """
import sys
from datetime import date
import sqlalchemy as sa
from shopsync.carriers import nova_poshta
from shopsync.core.config import ShopSettings
from shopsync.orders.fulfilment.shipping import ship_ready
from shopsync.transport.connections import ConnectionInfo

db_url, shop_json, host, port, key = sys.argv[1:6]
connection = ConnectionInfo(conn_id="nova_poshta_test", conn_type="http", host=host, port=int(port), schema="http",
                            password=key, extra={"timeout": 300})
ship_ready(sa.create_engine(db_url), ShopSettings.model_validate_json(shop_json),
           open_carrier=lambda settings, retry=None: nova_poshta.connect(connection, settings, retry),
           today=date.fromisoformat(sys.argv[6]))
"""


def control(base_url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def live_documents(base_url: str) -> list[dict]:
    return [doc for doc in control(base_url, "/_fake/state")["documents"] if not doc["deleted"]]


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def no_shipping_lock(engine) -> bool:
    """The server drops a killed client's session (and its advisory lock) once it sees the socket closed."""
    return scalar(engine, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7420014") == 0


def test_kill_9_after_the_carrier_created_the_document_then_a_rerun(shop_db, db_url, tmp_path):
    from fake_nova_poshta import API_KEY

    shop = shop_with_carrier(tmp_path)
    fake = start_fake_process("nova_poshta", tmp_path / "nova_poshta.json")
    try:
        load_directory(shop_db, shop, fake.base_url)
        invoice_id = ordered(shop_db, "K-1")
        requested(shop_db, shop, invoice_id)
        on_hand_before, free_before = on_hand(shop_db), free(shop_db, 101)
        # the save is carried out, its answer held far longer than the test waits
        control(fake.base_url, "/_fake/faults", {"kind": "timeout", "path": "/v2.0/json*", "processed": True,
                                                 "delay": 120})
        host, port = fake.base_url.removeprefix("http://").split(":")
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, shop.model_dump_json(), host, port, API_KEY,
             SHIP_DATE.isoformat()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        try:
            wait_for(lambda: live_documents(fake.base_url) or child.poll() is not None, "the document at the fake")
            assert child.poll() is None, child.communicate()[1][-2000:]
            assert shipment(shop_db, invoice_id).state == "creating"          # the intent was committed first
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert invoice(shop_db, invoice_id).status == "ready" and on_hand(shop_db) == on_hand_before
        wait_for(lambda: no_shipping_lock(shop_db), "the killed run's shipping lock to go", 20)

        summary = shipping.ship_ready(shop_db, shop, open_carrier=opener(fake.base_url), today=SHIP_DATE)

        [document] = live_documents(fake.base_url)
        assert summary.recognised == [("K-1", document["IntDocNumber"])] and summary.shipped == []
        saves = [r for r in control(fake.base_url, "/_fake/state")["requests"]
                 if isinstance(r["json"], dict) and r["json"].get("calledMethod") == "save"]
        assert len(saves) == 1
        assert scalar(shop_db, "SELECT count(*) FROM shipments WHERE state = 'created'") == 1
        assert scalar(shop_db, "SELECT count(*) FROM delivery_notes") == 1
        assert shipment(shop_db, invoice_id).waybill_number == document["IntDocNumber"]
        assert invoice(shop_db, invoice_id).status == "shipped"
        assert on_hand(shop_db) == on_hand_before - 2 and free(shop_db, 101) == free_before   # stock down once
        assert shipping.ship_ready(shop_db, shop, open_carrier=opener(fake.base_url), today=SHIP_DATE).recognised == []
    finally:
        fake.stop()
