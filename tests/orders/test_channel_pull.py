"""Orders pulled from Prom.ua's API (the fake Prom) land once, follow the channel, and never block each other."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fake_prom import TOKEN
from orderdata import free, rows, scalar
from test_ingest import shop_settings

from shopsync.carriers.base import Branch, City
from shopsync.carriers.directory import Place, refresh, resolve_place
from shopsync.channels import prom
from shopsync.core.config import ShopSettings
from shopsync.orders import workflow
from shopsync.orders.channel_pull import pull_orders
from shopsync.transport.api_client import RemoteError
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


def invoice_of(engine, number):
    found = rows(engine, "SELECT * FROM invoices WHERE shop_id = 'demo' AND external_number = :n", n=number)
    return found[0] if found else None


def test_an_order_lands_once_reserved_and_bound_however_often_it_is_pulled(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 2)], declaration_number="20450012345678")
    first = pull(shop_db, shop, source, prom_api)
    again = pull(shop_db, shop, source, prom_api)

    invoice = invoice_of(shop_db, f"PROM-{made['id']}")
    assert invoice is not None and invoice.status == "reserved" and invoice.tracking_number == "20450012345678"
    assert (first.seen, first.applied + first.flagged, again.skipped) == (1, 1, 1)
    assert (first.reserved_goods, again.reserved_goods) == ([101], [])
    assert free(shop_db, 101, [1, 2, 3]) == Decimal(15 - 2)
    binding = rows(shop_db, "SELECT * FROM channel_bindings WHERE channel = 'prom'")
    assert [(b.entity, b.internal_id, b.external_id, b.external_status) for b in binding] == [
        ("order", invoice.id, str(made["id"]), "pending")]


def test_the_cursor_moves_so_the_next_pull_asks_only_for_what_changed_since(shop_db, shop, source, prom_api):
    prom_api.add_order(products=[("102", 1)])
    summary = pull(shop_db, shop, source, prom_api)
    prom_api.advance(3600)
    pull(shop_db, shop, source, prom_api)

    [first, second] = [r.query["last_modified_from"] for r in prom_api.logged("GET", "/api/v1/orders/list")]
    assert datetime.fromisoformat(second) > datetime.fromisoformat(first)
    stored = scalar(shop_db, "SELECT position FROM channel_cursors WHERE channel = 'prom'")
    assert stored == datetime.fromisoformat(summary.cursor)


def test_a_cancellation_in_the_channel_releases_the_reservation(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("102", 3)])
    pull(shop_db, shop, source, prom_api)
    assert free(shop_db, 102) == Decimal(20 - 3)

    prom_api.advance(60)
    prom_api.modify_order(made["id"], status="canceled")
    summary = pull(shop_db, shop, source, prom_api)

    assert summary.released == 1 and summary.reserved_goods == [102]
    assert invoice_of(shop_db, f"PROM-{made['id']}").status == "cancelled"
    assert free(shop_db, 102) == Decimal(20)


def test_a_cancellation_after_shipping_flags_the_invoice(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("102", 1)])
    pull(shop_db, shop, source, prom_api)
    invoice = invoice_of(shop_db, f"PROM-{made['id']}")
    with shop_db.begin() as conn:
        workflow.ship(conn, invoice.id, "nova_poshta", "20450012345678")

    prom_api.advance(60)
    prom_api.modify_order(made["id"], status="canceled")
    summary = pull(shop_db, shop, source, prom_api)

    invoice = invoice_of(shop_db, f"PROM-{made['id']}")
    assert summary.cancelled_after_shipping == 1 and invoice.status == "shipped"
    assert invoice.needs_attention and "cancelled in prom after it shipped" in invoice.attention_reasons


def test_an_older_listing_of_an_order_does_not_undo_a_newer_one(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("102", 1)])
    prom_api.advance(60)
    prom_api.modify_order(made["id"], status="received")
    pull(shop_db, shop, source, prom_api)
    stale = dict(prom_api.order(made["id"]), status="pending",
                 date_modified=(prom_api.now() - timedelta(hours=1)).isoformat())
    from shopsync.channels.prom import channel_order

    class Replay:
        kind = "prom"

        def changed_orders(self, since):
            yield channel_order(stale)

    pull_orders(shop_db, shop, shop.channel("prom"), Replay(), now=prom_api.now(), today=TODAY)
    assert scalar(shop_db, "SELECT external_status FROM channel_bindings") == "received"


def test_an_order_that_cannot_land_is_kept_and_the_others_land(shop_db, shop, source, prom_api):
    broken = prom_api.add_order(products=[("101", 1)])
    lines = prom_api.orders[broken["id"]].pop("products")                    # an order without its goods
    good = prom_api.add_order(products=[("102", 1)])

    summary = pull(shop_db, shop, source, prom_api)

    assert summary.problems == 1 and invoice_of(shop_db, f"PROM-{good['id']}") is not None
    [kept] = rows(shop_db, "SELECT * FROM channel_order_problems")
    assert kept.external_id == str(broken["id"]) and kept.raw["client_first_name"] == broken["client_first_name"]
    assert kept.reasons == ["the order has no goods"]

    prom_api.advance(60)
    prom_api.modify_order(broken["id"], products=lines)                      # the channel fixed it
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, f"PROM-{broken['id']}") is not None
    assert rows(shop_db, "SELECT * FROM channel_order_problems") == []


def test_a_channel_that_fails_mid_pull_keeps_the_cursor_and_loses_nothing(shop_db, shop, source, prom_api):
    made = [prom_api.add_order(products=[("102", 1)]) for _ in range(3)]
    source.page_size = 2
    prom_api.fail_next("500", count=2, path="/api/v1/orders/list")
    with pytest.raises(RemoteError):
        pull(shop_db, shop, source, prom_api)
    assert scalar(shop_db, "SELECT count(*) FROM channel_cursors") == 0

    pull(shop_db, shop, source, prom_api)
    assert all(invoice_of(shop_db, f"PROM-{order['id']}") is not None for order in made)


def test_a_shop_whose_orders_came_as_files_keeps_their_numbers_with_an_empty_prefix(shop_db, shop, source,
                                                                                      prom_api):
    plain = shop.model_copy(update={"channels": [shop.channel("prom").model_copy(update={"order_prefix": ""})]})
    made = prom_api.add_order(products=[("102", 1)])
    pull_orders(shop_db, plain, plain.channel("prom"), source, now=prom_api.now(), today=TODAY)
    assert invoice_of(shop_db, str(made["id"])) is not None


def test_the_first_pull_looks_back_first_pull_days(shop_db, shop, source, prom_api):
    now = prom_api.now()
    recent = prom_api.add_order(products=[("102", 1)], created=now - timedelta(hours=20))
    prom_api.add_order(products=[("102", 1)], created=now - timedelta(days=3))
    summary = pull(shop_db, shop, source, prom_api)
    assert summary.seen == 1 and invoice_of(shop_db, f"PROM-{recent['id']}") is not None
    assert datetime.fromisoformat(summary.since) < now.astimezone(UTC) - timedelta(days=1)


def test_a_rozetka_order_lands_with_its_waybill_and_a_cancellation_releases_it(shop_db, tmp_path, rozetka_api):
    from fake_rozetka import PASSWORD, USERNAME

    from shopsync.channels import rozetka

    settings = shop_settings(tmp_path / "inbox")
    shop = ShopSettings.model_validate({**settings.model_dump(),
                                        "channels": [{"kind": "rozetka", "conn_id": "rozetka_demo"}]})
    host, port = rozetka_api.base_url.removeprefix("http://").split(":")
    source = rozetka.connect(ConnectionInfo(conn_id="rozetka_demo", host=host, port=int(port), schema="http",
                                            login=USERNAME, password=PASSWORD), RetryPolicy(attempts=2))
    made = rozetka_api.add_order(products=[("102", 2)], ttn="20450099998888")

    first = pull_orders(shop_db, shop, shop.channel("rozetka"), source, now=rozetka_api.now(), today=TODAY)
    invoice = invoice_of(shop_db, f"RZ-{made['id']}")
    assert first.seen == 1 and invoice.status == "reserved" and invoice.tracking_number == "20450099998888"
    assert free(shop_db, 102) == Decimal(20 - 2)

    rozetka_api.advance(60)
    rozetka_api.modify_order(made["id"], status=45)                       # cancelled by the buyer
    second = pull_orders(shop_db, shop, shop.channel("rozetka"), source, now=rozetka_api.now(), today=TODAY)
    assert second.released == 1 and invoice_of(shop_db, f"RZ-{made['id']}").status == "cancelled"
    assert free(shop_db, 102) == Decimal(20)
    assert scalar(shop_db, "SELECT external_status FROM channel_bindings WHERE channel = 'rozetka'") == "45"


def test_a_woocommerce_order_lands_and_a_cancellation_releases_it(shop_db, tmp_path, woocommerce_api):
    from fake_woocommerce_base import CONSUMER_KEY, CONSUMER_SECRET

    from shopsync.channels import woocommerce

    settings = shop_settings(tmp_path / "inbox")
    shop = ShopSettings.model_validate({**settings.model_dump(),
                                        "channels": [{"kind": "woocommerce", "conn_id": "woo_demo"}]})
    host, port = woocommerce_api.base_url.removeprefix("http://").split(":")
    source = woocommerce.connect(ConnectionInfo(conn_id="woo_demo", host=host, port=int(port), schema="http",
                                                login=CONSUMER_KEY, password=CONSUMER_SECRET), RetryPolicy(attempts=2))
    made = woocommerce_api.add_order(products=[("good-102", 1)])     # our WooCommerce feed names SKUs good-N
    channel = shop.channel("woocommerce")

    first = pull_orders(shop_db, shop, channel, source, now=woocommerce_api.now(), today=TODAY)
    assert first.seen == 1 and invoice_of(shop_db, f"WC-{made['id']}").status == "reserved"

    woocommerce_api.advance(60)
    woocommerce_api.modify_order(made["id"], status="cancelled")
    second = pull_orders(shop_db, shop, channel, source, now=woocommerce_api.now(), today=TODAY)
    assert second.released == 1 and invoice_of(shop_db, f"WC-{made['id']}").status == "cancelled"
    assert free(shop_db, 102) == Decimal(20)


# -- the branch a Prom buyer chose reaches the invoice as the carrier's id (delivery_branch_ref), which the
# -- carrier directory resolves before any branch text


def prom_number(made) -> str:
    return f"PROM-{made['id']}"


def warehouse_id(made) -> str:
    return made["delivery_provider_data"]["recipient_warehouse_id"]


def test_the_warehouse_id_lands_on_the_invoice(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 1)])
    pull(shop_db, shop, source, prom_api)

    invoice = invoice_of(shop_db, prom_number(made))
    assert warehouse_id(made) and invoice.delivery_branch_ref == warehouse_id(made)


def test_a_branch_changed_in_prom_follows_and_a_listing_without_one_keeps_it(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("101", 1)])
    pull(shop_db, shop, source, prom_api)

    prom_api.advance(60)
    moved = dict(made["delivery_provider_data"], recipient_warehouse_id="wh-moved-7")
    prom_api.modify_order(made["id"], delivery_provider_data=moved)
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, prom_number(made)).delivery_branch_ref == "wh-moved-7"

    prom_api.advance(60)
    prom_api.modify_order(made["id"], delivery_provider_data=dict(moved, recipient_warehouse_id=None))
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, prom_number(made)).delivery_branch_ref == "wh-moved-7"


def test_an_order_without_a_warehouse_id_has_none(shop_db, shop, source, prom_api):
    made = prom_api.add_order(products=[("102", 1)])
    prom_api.modify_order(made["id"], delivery_provider_data=None, delivery_address="Львів, вул. Городоцька, 1")
    pull(shop_db, shop, source, prom_api)
    assert invoice_of(shop_db, prom_number(made)).delivery_branch_ref is None


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
    invoice = invoice_of(shop_db, prom_number(made))
    city = made["delivery_provider_data"]["recipient_address"]
    refresh(shop_db, OneBranch(city["city_name"], city["city_id"], warehouse_id(made)))

    with shop_db.connect() as conn:
        place = resolve_place(conn, "nova_poshta", invoice.delivery_city, invoice.delivery_branch,
                              invoice.delivery_branch_ref, invoice.delivery_address)
    assert place == Place(city["city_id"], city["city_name"], warehouse_id(made), "77", "01001")
