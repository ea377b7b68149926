"""`shopsync pay`, `shopsync ship --now` and `shopsync cancel` from a shell, against the fake Nova Poshta."""

from __future__ import annotations

import json

import yaml
from fake_nova_poshta import API_KEY
from shipdata import CONN_ID, invoice, load_directory, ordered, shipment, shop_with_carrier
from test_cli import assert_clean_error, run_cli


def shop_dir(tmp_path) -> str:
    settings = shop_with_carrier(tmp_path).model_dump(mode="json", exclude_none=True)
    directory = tmp_path / "shops"
    directory.mkdir()
    (directory / "demo.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return str(directory)


def env_for(db_url, server, shops) -> dict[str, str]:
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": API_KEY}
    return {"SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": shops,
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection)}


def test_pay_ship_now_and_cancel_from_the_command_line(shop_db, db_url, tmp_path, nova_poshta_api):
    load_directory(shop_db, shop_with_carrier(tmp_path), nova_poshta_api.base_url)
    shipped_id, cancelled_id = ordered(shop_db, "CLI-1"), ordered(shop_db, "CLI-2", quantity="1")
    env = env_for(db_url, nova_poshta_api, shop_dir(tmp_path))

    paid = run_cli("pay", "--shop", "demo", "--invoice", "CLI-1", "--amount", "500", "--reference", "bank-7", env=env)
    assert paid.returncode == 0, paid.stderr
    assert "prepaid 500.00 of 3000.00, payment status cod" in paid.stdout
    again = run_cli("pay", "--shop", "demo", "--invoice", "CLI-1", "--amount", "500", "--reference", "bank-7", env=env)
    assert "already recorded" in again.stdout and "prepaid 500.00" in again.stdout

    shipped = run_cli("ship", "--shop", "demo", "--invoice", "CLI-1", "--weight", "2", "--now", env=env)
    assert shipped.returncode == 0, shipped.stderr
    [document] = nova_poshta_api.documents()
    assert "shop demo: 1 shipped" in shipped.stdout and f"CLI-1: waybill {document['IntDocNumber']}" in shipped.stdout
    assert document["fields"]["BackwardDeliveryData"][0]["RedeliveryString"] == "2500"
    assert document["fields"]["Weight"] == "2"
    assert invoice(shop_db, shipped_id).status == "shipped"
    assert API_KEY not in shipped.stdout + shipped.stderr

    refused = run_cli("cancel", "--shop", "demo", "--invoice", "CLI-1", "--reason", "late", env=env)
    assert refused.returncode == 2
    assert_clean_error(refused, "is shipped; only new, reserved or ready invoices can be cancelled")

    cancelled = run_cli("cancel", "--shop", "demo", "--id", str(cancelled_id), "--reason", "buyer asked", env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled (buyer asked); released: good 101 x 1" in cancelled.stdout
    assert invoice(shop_db, cancelled_id).status == "cancelled" and shipment(shop_db, cancelled_id) is None

    unknown = run_cli("ship", "--shop", "demo", "--invoice", "NOPE-1", env=env)
    assert_clean_error(unknown, "shop 'demo' has no invoice with order number 'NOPE-1'")
