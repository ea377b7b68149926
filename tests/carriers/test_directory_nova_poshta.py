"""The directory refreshed from the fake Nova Poshta API (Address.getCities / getWarehouses, paged), then read."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from fake_nova_poshta import (
    API_KEY,
    KYIV_BRANCH_33_REF,
    KYIV_POSTOMAT_REF,
    KYIV_REF,
    LVIV_BRANCH_5_REF,
    PETRIVKA_ODESA_BRANCH_REF,
    PETRIVKA_ODESA_REF,
    SENDER,
)

from shopsync.carriers import nova_poshta
from shopsync.carriers.directory import DirectoryShrinkRefused, Place, Unresolved, refresh, resolve_place
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.api_client import RemoteError
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

SETTINGS = CarrierSettings(kind="nova_poshta", conn_id="nova_poshta_demo", sender={
    "name": "ТОВ Демо", "phone": SENDER["SendersPhone"], "city_ref": SENDER["CitySender"],
    "counterparty_ref": SENDER["Sender"], "address_ref": SENDER["SenderAddress"],
    "contact_ref": SENDER["ContactSender"]})


@pytest.fixture
def source(nova_poshta_api) -> nova_poshta.NovaPoshta:
    host, port = nova_poshta_api.base_url.removeprefix("http://").split(":")
    connection = ConnectionInfo(conn_id="nova_poshta_demo", conn_type="http", host=host, port=int(port),
                                schema="http", password=API_KEY, extra={"timeout": 2.0})
    carrier = nova_poshta.connect(connection, SETTINGS, RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.02))
    carrier.page_size = 2               # several pages of each list
    return carrier


def active(engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(f"SELECT ref FROM {table} WHERE is_active")).scalars())


def resolve(engine, city, branch=None, branch_ref=None):
    with engine.connect() as conn:
        return resolve_place(conn, "nova_poshta", city, branch, branch_ref)


def test_the_fake_directory_is_copied_page_by_page_and_resolves(engine, source, nova_poshta_api, caplog):
    caplog.set_level(logging.DEBUG)
    summary = refresh(engine, source, batch_size=4)

    assert (summary.cities, summary.branches, summary.deactivated) == (6, 6, 0)
    methods = [r.json["calledMethod"] for r in nova_poshta_api.logged("POST")]
    assert methods == ["getCities"] * 3 + ["getWarehouses"] * 3          # pages of 2, up to the totalCount
    assert resolve(engine, "м. Київ", "Відділення №33") == Place(KYIV_REF, "Київ", KYIV_BRANCH_33_REF, "33", "01001")
    assert resolve(engine, "Київ", "Поштомат 5012").branch_ref == KYIV_POSTOMAT_REF
    # two villages named Петрівка: only the Odesa one has a branch №1
    assert resolve(engine, "Петрівка", "№1") == Place(PETRIVKA_ODESA_REF, "Петрівка", PETRIVKA_ODESA_BRANCH_REF, "1",
                                                       "67652")
    assert resolve(engine, "Львів", None, branch_ref=LVIV_BRANCH_5_REF).branch_number == "5"
    assert API_KEY not in caplog.text + summary.line()


def test_a_branch_the_carrier_closed_becomes_inactive_on_the_next_refresh(engine, source, nova_poshta_api):
    refresh(engine, source)
    nova_poshta_api.warehouses = [w for w in nova_poshta_api.warehouses if w["Ref"] != KYIV_BRANCH_33_REF]

    again = refresh(engine, source)

    assert (again.branches, again.branches_closed, again.cities_closed) == (5, 1, 0)
    assert KYIV_BRANCH_33_REF not in active(engine, "carrier_branches")
    assert resolve(engine, "Київ", "Відділення №33") == Unresolved("no branch №33 in Київ")


def test_a_half_empty_answer_is_refused_and_the_directory_stays(engine, source, nova_poshta_api):
    refresh(engine, source)
    before = active(engine, "carrier_branches")
    nova_poshta_api.warehouses = nova_poshta_api.warehouses[:2]

    with pytest.raises(DirectoryShrinkRefused, match="listed 2 branches but the directory holds 6 open"):
        refresh(engine, source)

    assert active(engine, "carrier_branches") == before


def test_a_carrier_failing_between_pages_changes_nothing(engine, source, nova_poshta_api):
    refresh(engine, source)
    nova_poshta_api.warehouses = nova_poshta_api.warehouses[:5]
    nova_poshta_api.after_requests("/v2.0/json/", 2, lambda: nova_poshta_api.fail_next("500", count=5))

    with pytest.raises(RemoteError):
        refresh(engine, source)

    assert len(active(engine, "carrier_branches")) == 6
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM carrier_directory_refreshes")).scalar_one() == 1
