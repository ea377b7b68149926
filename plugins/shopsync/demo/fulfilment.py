"""The demo's last act: one demo order shipped with a fake Nova Poshta, delivered, its cash on delivery paid.

A fake Nova Poshta (tests/fakes/fake_nova_poshta.py, the one the tests use) and a mail catcher (each mail a
buyer gets is written to .local/demo-mail/) run on 127.0.0.1 for the length of the demo; the Airflow
Connections `nova_poshta_demo` and `smtp_default` point at them through AIRFLOW_CONN_* variables.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings
from shopsync.core.paths import local_dir, project_root

# DEMO-1 prepaid to Київ, Відділення №52; DEMO-2 cash on delivery to Львів, Відділення №3 (demo.sample_orders)
DEMO_INVOICES = ("DEMO-1", "DEMO-2")
MAIL_DIR_NAME = "demo-mail"


@contextmanager
def fake_carrier_and_mail(shop: ShopSettings) -> Iterator[tuple[Any, Path, dict[str, str]]]:
    """(the fake Nova Poshta process, the folder mails land in, the AIRFLOW_CONN_* variables for both)."""
    fakes = project_root() / "tests" / "fakes"
    sys.path.insert(0, str(fakes))
    from fake_channels import start_fake_process
    from fake_nova_poshta import API_KEY

    state = local_dir() / "demo-carrier" / "nova_poshta-state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    if not state.exists():
        seed_fake_directory(state)
    mail_dir = local_dir() / MAIL_DIR_NAME
    mail_dir.mkdir(parents=True, exist_ok=True)
    carrier = start_fake_process("nova_poshta", state)
    catcher = MailCatcher(mail_dir)
    catcher.start()
    try:
        url = urlsplit(carrier.base_url)
        env = {
            f"AIRFLOW_CONN_{shop.carrier().conn_id.upper()}": json.dumps(
                {"conn_type": "http", "host": url.hostname, "port": url.port, "schema": "http", "password": API_KEY}),
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
                {"conn_type": "smtp", "host": "127.0.0.1", "port": catcher.port,
                 "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "shop@demo.shopsync.example"}}),
        }
        yield carrier, mail_dir, env
    finally:
        catcher.stop()
        carrier.stop()


def seed_fake_directory(state: Path) -> None:
    """The fake's directory, with the branches the demo's buyers chose (demo.sample_orders)."""
    from fake_nova_poshta import KYIV_REF, LVIV_REF, FakeNovaPoshta

    fake = FakeNovaPoshta(state)
    fake.add_branch("d3d3d3d3-0000-4000-8000-000000000052", KYIV_REF, "52",
                    "Відділення №52 (до 30 кг): вул. Антоновича, 43", postcode="03150")
    fake.add_branch("d3d3d3d3-0000-4000-8000-000000000003", LVIV_REF, "3",
                    "Відділення №3: вул. Городоцька, 120", postcode="79000")
    fake.save()


class MailCatcher:
    """An SMTP server on 127.0.0.1 that writes each message it receives to <folder>/<n>.eml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self._controller: Any = None

    def start(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        number = len(list(self.folder.glob("*.eml"))) + 1
        (self.folder / f"{number:03d}.eml").write_bytes(envelope.original_content or envelope.content)
        return "250 OK"

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


def move_parcel(carrier: Any, number: str, code: str, **fields: Any) -> None:
    """Tell the fake carrier the parcel reached a status (what the real one does by itself)."""
    response = requests.post(f"{carrier.base_url}/_fake/status", json={"number": number, "code": code, **fields},
                             timeout=10)
    response.raise_for_status()


def shipment_of(engine: Engine, shop_id: str, number: str) -> sa.Row | None:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT i.id AS invoice_id, i.status, i.payment_status, i.total, s.waybill_number, s.state,"
            " s.delivery_state, s.cod_amount, s.cod_paid_amount"
            " FROM invoices i LEFT JOIN shipments s ON s.invoice_id = i.id AND s.state <> 'cancelled'"
            " WHERE i.shop_id = :shop AND i.external_number = :number"), {"shop": shop_id, "number": number}).first()


def on_hand(engine: Engine, invoice_id: int) -> dict[int, str]:
    """On-hand stock (all warehouses) of the goods of one invoice."""
    with engine.connect() as conn:
        return {row.good_id: f"{row.on_hand.normalize():f}" for row in conn.execute(sa.text(
            "SELECT l.good_id, sum(s.on_hand) AS on_hand FROM invoice_lines l JOIN stock s ON s.good_id = l.good_id"
            " WHERE l.invoice_id = :i GROUP BY l.good_id ORDER BY l.good_id"), {"i": invoice_id})}


def mail_subjects(mail_dir: Path) -> list[str]:
    subjects = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        subjects.append(f"{path.name}: to {message['To']}: {message['Subject']}")
    return subjects


def run_fulfilment_demo(engine: Engine, shop: ShopSettings, env: dict[str, str],
                        dags_test: Callable[[str, dict[str, str]], None],
                        shopsync: Callable[[list[str], dict[str, str]], str], say: Callable[[str], None]) -> None:
    """Directory refresh, `shopsync ship` of two demo orders, the fulfilment DAG (waybills, sales, the buyer's
    mail), both parcels delivered at the fake (the COD one's money paid out), the fulfilment DAG again."""
    with fake_carrier_and_mail(shop) as (carrier, mail_dir, conn_env):
        run_env = {**env, **conn_env}
        say("carrier directory: airflow dags test carrier_directory__nova_poshta (cities and branches)")
        dags_test("carrier_directory__nova_poshta", run_env)
        before = {number: shipment_of(engine, shop.id, number) for number in DEMO_INVOICES}
        if any(row is None for row in before.values()):
            print(f"    the demo orders {', '.join(DEMO_INVOICES)} did not land: nothing to ship")
            return
        for number, row in before.items():
            if row.status in ("reserved", "ready"):
                say(f"ready to ship: shopsync ship --shop {shop.id} --invoice {number}")
                print("    " + shopsync(["ship", "--shop", shop.id, "--invoice", number], run_env).strip())
        stock_before = {number: on_hand(engine, row.invoice_id) for number, row in before.items()}
        say(f"fulfilment: airflow dags test shop_{shop.id}__fulfilment (waybills, sales, buyer e-mails)")
        dags_test(f"shop_{shop.id}__fulfilment", run_env)
        delivered = []
        for number, row in before.items():
            shipped = shipment_of(engine, shop.id, number)
            cod = f"cash on delivery {shipped.cod_amount}" if shipped.cod_amount else "prepaid, no cash on delivery"
            print(f"    {number}: invoice {shipped.status}, waybill {shipped.waybill_number}, {cod}; on hand "
                  f"{stock_before[number]} -> {on_hand(engine, row.invoice_id)}")
            if shipped.waybill_number and shipped.status == "shipped":
                delivered.append((shipped.waybill_number, bool(shipped.cod_amount)))
        if delivered:
            say("the fake Nova Poshta delivers " + ", ".join(number for number, _ in delivered)
                + " and pays the cash on delivery out")
            for waybill, cod in delivered:
                move_parcel(carrier, waybill, "9")
                if cod:
                    move_parcel(carrier, waybill, "11")
            dags_test(f"shop_{shop.id}__fulfilment", run_env)
        for number in DEMO_INVOICES:
            done = shipment_of(engine, shop.id, number)
            print(f"    {number}: invoice {done.status}, payment {done.payment_status}, delivery {done.delivery_state}"
                  + (f", COD collected {done.cod_paid_amount}" if done.cod_paid_amount else ""))
        for line in mail_subjects(mail_dir):
            print(f"    mail {line}")
        print(f"    the buyers' mails: {mail_dir}; every invoice: shopsync orders --shop {shop.id}")
