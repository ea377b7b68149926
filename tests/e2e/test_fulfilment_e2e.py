"""Fulfilment under a real deployment: api-server, scheduler, dag-processor, triggerer, two Celery workers, with
a fake Nova Poshta and a fake Prom running as processes of their own, and a real SMTP server (issue 14).

Two orders take the whole way:
- an order file (cash on delivery, Київ, "Відділення №33") lands by the scheduled ingest run (reserved);
  `shopsync ship` marks it ready; the scheduled fulfilment run creates one waybill at the fake carrier (the
  sale: on hand down, the reservation closed) and mails the buyer; the fake carrier delivers the parcel and
  pays the COD out; the next runs mark the invoice delivered and record the payment of its total;
- a Prom order pulled by the prom sync (reserved, told `received`) ships the same way; Prom is sent the
  waybill (`save_declaration_id`); the buyer refuses the parcel; the return document arrives back; the
  invoice is returned, the goods are on hand again, Prom is told `canceled`.
Stock is checked at every step; no fake's key or password appears in any log the deployment wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
import sqlalchemy as sa
from airflow_cluster import AirflowCluster, poll, say

from shopsync import testing
from shopsync.seed import seed_database

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SHOP = "ful"
FULFILMENT = f"shop_{SHOP}__fulfilment"
INGEST = f"shop_{SHOP}__orders_ingest"
PROM_SYNC = f"shop_{SHOP}__prom_sync"
DIRECTORY = "carrier_directory__nova_poshta"
WAREHOUSES = (1, 2)



def shop_file(local: Path) -> str:
    from fake_nova_poshta import SENDER

    base = local / "shops" / SHOP
    return f"""id: {SHOP}
name: "E2E: доставка"
url: https://fulfilment.shopsync.example
currency: UAH
warehouses: [{", ".join(map(str, WAREHOUSES))}]
feeds:
  - profile: prom_yml
destination: {{kind: local, path: "{base / 'published'}"}}
orders_inbox: {{kind: local, path: "{base / 'inbox'}", schedule: "* * * * *", settle_seconds: 0}}
order_checks: {{min_price_share: 0}}
channels:
  - {{kind: prom, conn_id: e2e_prom, schedule: "* * * * *", push_stock: false}}
carrier:
  kind: nova_poshta
  conn_id: e2e_np
  sender: {{name: "ТОВ «Е2Е»", phone: "{SENDER['SendersPhone']}", city_ref: "{SENDER['CitySender']}",
           counterparty_ref: "{SENDER['Sender']}", address_ref: "{SENDER['SenderAddress']}",
           contact_ref: "{SENDER['ContactSender']}"}}
fulfilment: {{schedule: "* * * * *", mail_from: "shop@fulfilment.shopsync.example"}}
"""


def order_file(good_id: int, price: str) -> bytes:
    order = {
        "Client": {"Name": "Шевченко Олена Василівна", "MPhone": "+38 (050) 123-45-67", "Місто": "Київ",
                   "EMail": "olena@example.com", "Country": "Україна", "Address": "Відділення №33"},
        "Options": {"OrderNumber": "E2E-1", "DeliveryCondition": "Нова Пошта", "DeliveryAddress": "Відділення №33",
                    "PaymentStatus": "cod", "OrderDate": "2026-12-07 10:00:00"},
        "Goods": [{"GoodID": str(good_id), "Price": price.replace(".", ","), "Count": "1"}],
    }
    return json.dumps([order], ensure_ascii=False).encode("utf-8")


def prom_state(path: Path, good_id: int) -> int:
    """The fake Prom's state with one pending order for `good_id`, to a Kyiv branch the carrier knows."""
    from fake_nova_poshta import KYIV_BRANCH_33_REF, KYIV_REF
    from fake_prom import FakeProm

    prom = FakeProm(path)
    prom.products[str(good_id)] = {"id": 5000 + good_id, "external_id": str(good_id), "name": f"Товар {good_id}",
                                   "price": 0.0, "quantity_in_stock": 0, "presence": "not_available"}
    order = prom.add_order(status="pending", products=[(str(good_id), 1)], payment_status="unpaid", with_email=True)
    delivery = order["delivery_provider_data"]
    delivery["recipient_warehouse_id"] = KYIV_BRANCH_33_REF
    delivery["recipient_address"].update({"city_id": KYIV_REF, "city_name": "Київ",
                                          "warehouse_id": KYIV_BRANCH_33_REF})
    prom.modify_order(order["id"], delivery_provider_data=delivery,
                      delivery_address="Київ, Відділення №33 (до 30 кг): вул. Володимирська, 12")
    prom.save()
    return order["id"]


def connection_env(prom: Any, carrier: Any, smtp_json: str) -> dict[str, str]:
    from fake_nova_poshta import API_KEY
    from fake_prom import TOKEN

    def conn(fake: Any, **secrets: str) -> str:
        url = urlsplit(fake.base_url)
        return json.dumps({"conn_type": "http", "host": url.hostname, "port": url.port, "schema": "http", **secrets})

    return {"AIRFLOW_CONN_E2E_PROM": conn(prom, password=TOKEN), "AIRFLOW_CONN_E2E_NP": conn(carrier, password=API_KEY),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_json}



class Books:
    """What the accounting database says about one invoice and its goods."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def invoice(self, number: str) -> sa.Row | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT i.id, i.status, i.payment_status, i.total, s.state AS shipment, s.waybill_number,"
                " s.delivery_state, s.cod_amount, s.cod_paid_amount,"
                " (SELECT coalesce(sum(amount), 0) FROM payments p WHERE p.invoice_id = i.id AND p.kind = 'cod') AS cod"
                " FROM invoices i LEFT JOIN shipments s ON s.invoice_id = i.id AND s.state <> 'cancelled'"
                " WHERE i.shop_id = :s AND i.external_number = :n"), {"s": SHOP, "n": number}).first()

    def status(self, number: str) -> str | None:
        row = self.invoice(number)
        return None if row is None else row.status

    def stock(self, good_id: int) -> tuple[int, int]:
        """(on hand, free) over the shop's warehouses."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT coalesce(sum(on_hand), 0) AS on_hand, coalesce(sum(free), 0) AS free FROM free_stock"
                " WHERE good_id = :g AND warehouse_id = ANY(:w)"), {"g": good_id, "w": list(WAREHOUSES)}).one()
        return int(row.on_hand), int(row.free)


def goods_in_stock(engine: sa.Engine, count: int) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(row.id, row.price) for row in conn.execute(sa.text(
            "SELECT g.id, p.price::text AS price FROM goods g"
            " JOIN free_stock f ON f.good_id = g.id AND f.warehouse_id = ANY(:w)"
            " JOIN prices p ON p.good_id = g.id AND p.price_type_id = 1 AND p.price > 0"
            " WHERE g.is_active AND g.is_visible GROUP BY g.id, p.price HAVING sum(f.free) >= 3 ORDER BY g.id"
            " LIMIT :n"), {"w": list(WAREHOUSES), "n": count})]


def move_parcel(carrier: Any, number: str, code: str, **fields: Any) -> dict:
    response = requests.post(f"{carrier.base_url}/_fake/status", json={"number": number, "code": code, **fields},
                             timeout=10)
    response.raise_for_status()
    return response.json()


def shopsync(cluster: AirflowCluster, *args: str) -> str:
    result = subprocess.run([str(Path(sys.executable).parent / "shopsync"), *args], env=cluster.env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def failed_runs(cluster: AirflowCluster, dag_ids: list[str]) -> list[str]:
    return [f"{dag_id} {run['dag_run_id']}" for dag_id in dag_ids for run in cluster.runs(dag_id)
            if run["state"] == "failed"]


@pytest.fixture
def fulfilment_deployment(tmp_path):
    from aiosmtpd.controller import Controller
    from fake_channels import start_fake_process
    from mail_server import LOGIN, PASSWORD, SmtpServer, free_port

    accounting_url = testing.create_schema_database("shopsync_e2e_ful_acc")
    metadata_url = testing.create_database("shopsync_e2e_ful_meta")
    local = tmp_path / "local"
    redis_db = 15                           # the other e2e tests use 5-9 and 10-14
    redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
    engine = sa.create_engine(accounting_url)
    fakes: dict[str, Any] = {}
    cluster: AirflowCluster | None = None
    mail = SmtpServer(host="127.0.0.1", port=free_port())
    from mail_server import _authenticate

    smtp = Controller(mail, hostname=mail.host, port=mail.port, authenticator=_authenticate, auth_required=True,
                      auth_require_tls=False)
    smtp.start()
    try:
        seed_database(engine, goods=120, seed=17)
        (file_good, price), (prom_good, _) = goods_in_stock(engine, 2)
        prom_order = prom_state(tmp_path / "prom-state.json", prom_good)
        fakes["prom"] = start_fake_process("prom", tmp_path / "prom-state.json")
        fakes["nova_poshta"] = start_fake_process("nova_poshta", tmp_path / "np-state.json")
        shops_dir = tmp_path / "shops"
        shops_dir.mkdir()
        (shops_dir / f"{SHOP}.yaml").write_text(shop_file(local), encoding="utf-8")
        inbox = local / "shops" / SHOP / "inbox"
        inbox.mkdir(parents=True)
        (inbox / "orders-e2e.json").write_bytes(order_file(file_good, price))
        os.utime(inbox / "orders-e2e.json", (time.time() - 600, time.time() - 600))
        cluster = AirflowCluster(home=tmp_path / "airflow", metadata_url=metadata_url, accounting_url=accounting_url,
                                 shops_dir=shops_dir, local_dir=local, redis_db=redis_db,
                                 extra_env=connection_env(fakes["prom"], fakes["nova_poshta"],
                                                          mail.connection_json()))
        started = time.perf_counter()
        say("start api-server, scheduler, dag-processor, triggerer, 2 celery workers ...")
        cluster.start()
        say(f"cluster healthy: {time.perf_counter() - started:.1f} s")
        yield cluster, engine, fakes, mail, {"file_good": file_good, "prom_good": prom_good,
                                             "prom_order": prom_order, "secrets": [PASSWORD, LOGIN]}
    finally:
        if cluster is not None:
            cluster.stop()
        for fake in fakes.values():
            fake.stop()
        smtp.stop()
        engine.dispose()
        testing.drop_database(accounting_url)
        testing.drop_database(metadata_url)


def test_an_order_ships_delivers_and_a_refused_parcel_comes_back(fulfilment_deployment):
    from fake_nova_poshta import API_KEY
    from fake_prom import TOKEN

    cluster, engine, fakes, mail, given = fulfilment_deployment
    prom, carrier = fakes["prom"], fakes["nova_poshta"]
    books = Books(engine)
    file_good, prom_good, prom_number = given["file_good"], given["prom_good"], f"PROM-{given['prom_order']}"
    cluster.wait_for_dags([FULFILMENT, INGEST, PROM_SYNC, DIRECTORY])
    stock0 = {good: books.stock(good) for good in (file_good, prom_good)}
    started = time.perf_counter()

    # the carrier's directory first: waybills are addressed from it
    cluster.unpause(DIRECTORY)
    poll(lambda: any(run["state"] == "success" for run in cluster.runs(DIRECTORY)), 300,
         "the carrier directory refreshed", cluster)
    for dag_id in (INGEST, PROM_SYNC, FULFILMENT):
        cluster.unpause(dag_id)
    poll(lambda: books.status("E2E-1") == "reserved" and books.status(prom_number) == "reserved", 300,
         "both orders reserved", cluster)
    for good in (file_good, prom_good):
        assert books.stock(good) == (stock0[good][0], stock0[good][1] - 1), good
    say(f"both orders reserved: {time.perf_counter() - started:.1f} s")

    # ready to ship, by hand: the scheduled fulfilment run makes the waybills and the sales
    for number in ("E2E-1", prom_number):
        say(shopsync(cluster, "ship", "--shop", SHOP, "--invoice", number).strip())
    poll(lambda: books.status("E2E-1") == "shipped" and books.status(prom_number) == "shipped", 300,
         "both invoices shipped with a waybill", cluster)
    say(f"both shipped: {time.perf_counter() - started:.1f} s")
    first, second = books.invoice("E2E-1"), books.invoice(prom_number)
    documents = carrier.state()["documents"]
    assert sorted(doc["IntDocNumber"] for doc in documents) == sorted([first.waybill_number, second.waybill_number])
    assert first.cod_amount == first.total
    for good in (file_good, prom_good):
        assert books.stock(good) == (stock0[good][0] - 1, stock0[good][1] - 1), good

    # Prom is sent the waybill, and the buyer of the file order gets it by mail
    poll(lambda: any(r["path"] == "/api/v1/delivery/save_declaration_id"
                     and (r.get("json") or {}).get("declaration_id") == second.waybill_number
                     for r in prom.state()["requests"]), 240, "Prom sent the waybill", cluster)
    poll(lambda: any("olena@example.com" in m.rcpt_tos and first.waybill_number in m.body("plain")
                     for m in list(mail.received)), 240, "the buyer's waybill mail", cluster)

    # the fake carrier delivers the first parcel and pays its COD out; the buyer refuses the second
    move_parcel(carrier, first.waybill_number, "9")
    move_parcel(carrier, first.waybill_number, "11")
    refused = move_parcel(carrier, second.waybill_number, "103", create_return=True)
    poll(lambda: books.invoice("E2E-1").cod == first.total and books.status("E2E-1") == "delivered", 300,
         "the first invoice delivered and its COD recorded", cluster)
    assert books.invoice("E2E-1").payment_status == "paid"
    poll(lambda: books.status(prom_number) == "refused", 300, "the second invoice refused", cluster)
    move_parcel(carrier, refused["return"]["IntDocNumber"], "9")
    poll(lambda: books.status(prom_number) == "returned", 300, "the refused parcel back on hand", cluster)
    say(f"delivered and paid, refused and returned: {time.perf_counter() - started:.1f} s")
    assert books.stock(file_good) == (stock0[file_good][0] - 1, stock0[file_good][1] - 1)
    assert books.stock(prom_good) == stock0[prom_good]
    poll(lambda: next(o for o in prom.state()["orders"] if o["id"] == given["prom_order"])["status"] == "canceled",
         240, "Prom told the order is cancelled after the return", cluster)

    # exactly one document per shipment at the carrier, one COD payment, no failed run, no secret in the logs
    ours = [doc for doc in carrier.state()["documents"] if not doc.get("return_of")]     # not the return document
    assert sorted(doc["IntDocNumber"] for doc in ours) == sorted([first.waybill_number, second.waybill_number])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payments")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM delivery_notes")).scalar_one() == 2
    assert failed_runs(cluster, [FULFILMENT, INGEST, PROM_SYNC, DIRECTORY]) == []
    files = [path for path in (cluster.home / "logs").rglob("*") if path.is_file()]
    text = "\n".join(path.read_text(errors="replace") for path in files)
    leaked = [name for name, secret in {"nova poshta key": API_KEY, "prom token": TOKEN,
                                        "smtp password": given["secrets"][0]}.items() if secret in text]
    assert leaked == [], f"secrets in the deployment's logs: {leaked}"
