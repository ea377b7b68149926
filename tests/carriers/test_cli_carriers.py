"""`shopsync carriers refresh|find`: the directory's weekly step and its lookup, from a shell (fake Nova Poshta)."""

from __future__ import annotations

import json

import pytest
from fake_nova_poshta import API_KEY, KYIV_BRANCH_33_REF, KYIV_REF, SENDER
from shop_files import shop_settings, write_shop
from test_cli import assert_clean_error, run_cli

CARRIER = {"kind": "nova_poshta", "conn_id": "nova_poshta_demo", "sender": {
    "name": "ТОВ Демо", "phone": SENDER["SendersPhone"], "city_ref": SENDER["CitySender"],
    "counterparty_ref": SENDER["Sender"], "address_ref": SENDER["SenderAddress"],
    "contact_ref": SENDER["ContactSender"]}}


def connection(server, password: str = API_KEY) -> str:
    host, port = server.base_url.removeprefix("http://").split(":")
    return json.dumps({"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": password})


@pytest.fixture
def env(engine, db_url, tmp_path, nova_poshta_api) -> dict[str, str]:
    shops = tmp_path / "shops"
    shops.mkdir()
    write_shop(shops, shop_settings("demo", carrier=CARRIER))
    return {"SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": str(shops),
            "AIRFLOW_CONN_NOVA_POSHTA_DEMO": connection(nova_poshta_api)}


def test_refresh_then_find_a_branch(env, nova_poshta_api):
    refreshed = run_cli("carriers", "refresh", "--kind", "nova_poshta", env=env)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "nova_poshta directory: 6 cities (6 new, 0 gone), 6 branches (6 new, 0 gone)" in refreshed.stdout
    assert API_KEY not in refreshed.stdout + refreshed.stderr

    found = run_cli("carriers", "find", "--kind", "nova_poshta", "--city", "м. Київ", "--branch", "Відділення №33",
                    env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == (f"Київ (city ref {KYIV_REF}), branch №33 (ref {KYIV_BRANCH_33_REF}), "
                                    "postcode 01001")

    by_ref = run_cli("carriers", "find", "--kind", "nova_poshta", "--branch-ref", KYIV_BRANCH_33_REF, env=env)
    assert by_ref.returncode == 0 and f"ref {KYIV_BRANCH_33_REF}" in by_ref.stdout


def test_find_says_why_a_place_cannot_be_resolved(env):
    assert run_cli("carriers", "refresh", "--kind", "nova_poshta", env=env).returncode == 0
    missing = run_cli("carriers", "find", "--kind", "nova_poshta", "--city", "Кїв", "--branch", "33", env=env)
    assert missing.returncode == 1
    assert missing.stdout.strip() == "not resolved: city 'Кїв' not in the Nova Poshta directory"


def test_refresh_through_another_connection_that_is_refused_is_one_line_without_the_key(env, nova_poshta_api):
    wrong = "np-wrong-key-0123456789abcdef"
    other = {**env, "AIRFLOW_CONN_NP_OTHER": connection(nova_poshta_api, password=wrong)}
    result = run_cli("carriers", "refresh", "--kind", "nova_poshta", "--conn-id", "np_other", env=other)
    assert_clean_error(result, "nova_poshta")
    assert wrong not in result.stderr + result.stdout
    assert nova_poshta_api.logged("POST")          # the other connection's host was asked


def test_ukrposhta_has_no_directory_to_refresh(env):
    result = run_cli("carriers", "refresh", "--kind", "ukrposhta", env=env)
    assert_clean_error(result, "Ukrposhta has no directory to copy")
