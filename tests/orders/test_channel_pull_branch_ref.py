"""The branch a Prom buyer chose reaches the invoice as the carrier's id (delivery_branch_ref), which the carrier
directory resolves before any branch text."""

from __future__ import annotations

from datetime import date

import pytest
from fake_prom import TOKEN
from orderdata import rows
from test_ingest import shop_settings

from shopsync.carriers.base import Branch, City
from shopsync.carriers.directory import Place, refresh, resolve_place
from shopsync.channels import prom
from shopsync.core.config import ShopSettings
from shopsync.orders.channel_pull import pull_orders
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

TODAY = date(2026, 12, 7)


@pytest.fixture
def shop(tmp_path) -> ShopSettings:
    settings = shop_settings(tmp_path / "inbox")
    return ShopSettings.model_validate({**settings.model_dump(),
                                        "channels": [{"kind": "prom", "conn_id": "prom_demo"}]})


@pytest.fixture
def source(prom_api) -> prom.PromApi:
    host, port = prom_api.base_url.removeprefix("http://").split(":")
    return prom.connect(ConnectionInfo(conn_id="prom_demo", host=host, port=int(port), schema="http",
                                       password=TOKEN), RetryPolicy(attempts=2, first_delay=0.01))


def pull(engine, shop, source, prom_api):
    return pull_orders(engine, shop, shop.channel("prom"), source, now=prom_api.now(), today=TODAY)


def invoice_of(engine, made):
    [invoice] = rows(engine, "SELECT * FROM invoices WHERE external_number = :n", n=f"PROM-{made['id']}")
    return invoice


def warehouse_id(made) -> str:
    return made["delivery_provider_data"]["recipient_warehouse_id"]


def test_the_warehouse_id_lands_on_the_invoice(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 1)])
    pull(shop_db, shop, source, prom_api)

    invoice = invoice_of(shop_db, made)
    assert warehouse_id(made) and invoice.delivery_branch_ref == warehouse_id(made)


def test_a_branch_changed_in_prom_follows_and_a_listing_without_one_keeps_it(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 1)])
    pull(shop_db, shop, source, prom_api)

    prom_api.advance(60)
    moved = dict(made["delivery_provider_data"], recipient_warehouse_id="wh-moved-7")
    prom_api.modify_order(made["id"], delivery_provider_data=moved)
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, made).delivery_branch_ref == "wh-moved-7"

    prom_api.advance(60)
    prom_api.modify_order(made["id"], delivery_provider_data=dict(moved, recipient_warehouse_id=None))
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, made).delivery_branch_ref == "wh-moved-7"


def test_an_order_without_a_warehouse_id_has_none(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("102", 1)])
    prom_api.modify_order(made["id"], delivery_provider_data=None, delivery_address="Львів, вул. Городоцька, 1")
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, made).delivery_branch_ref is None


class OneBranch:
    """The directory's side for the test: the branch Prom named, under its id, with another number than its text."""
    kind = "nova_poshta"

    def __init__(self, city: str, city_ref: str, ref: str) -> None:
        self.city, self.city_ref, self.ref = city, city_ref, ref

    def cities(self):
        yield City(self.city_ref, self.city)

    def branches(self):
        yield Branch(self.ref, self.city_ref, "77", "Відділення №77", "branch", postcode="01001")


def test_the_directory_resolves_the_invoice_by_the_kept_id(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 1)])
    pull(shop_db, shop, source, prom_api)
    invoice = invoice_of(shop_db, made)
    city = made["delivery_provider_data"]["recipient_address"]
    refresh(shop_db, OneBranch(city["city_name"], city["city_id"], warehouse_id(made)))

    with shop_db.connect() as conn:
        place = resolve_place(conn, "nova_poshta", invoice.delivery_city, invoice.delivery_branch,
                              invoice.delivery_branch_ref, invoice.delivery_address)
    assert place == Place(city["city_id"], city["city_name"], warehouse_id(made), "77", "01001")
