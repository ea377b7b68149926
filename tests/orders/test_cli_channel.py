"""`shopsync channel` and `shopsync orders` with a channel: the same steps as the DAG, from a shell."""

from __future__ import annotations

import json

import yaml
from fake_prom import TOKEN
from test_cli import run_cli
from test_ingest import shop_settings


def shop_dir(tmp_path, **channel) -> str:
    settings = shop_settings(tmp_path / "inbox").model_dump(mode="json", exclude_none=True)
    settings["channels"] = [{"kind": "prom", "conn_id": "prom_demo", **channel}]
    directory = tmp_path / "shops"
    directory.mkdir()
    (directory / "demo.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return str(directory)


def env_for(db_url, prom_api, shops) -> dict[str, str]:
    host, port = prom_api.base_url.removeprefix("http://").split(":")
    connection = {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": TOKEN}
    return {"SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": shops, "AIRFLOW_CONN_PROM_DEMO": json.dumps(connection)}


def test_channel_sync_pulls_pushes_and_orders_shows_the_channel(shop_db, db_url, tmp_path, prom_api):
    made = prom_api.add_order(products=[("102", 1)], declaration_number="20450012345678")
    env = env_for(db_url, prom_api, shop_dir(tmp_path))

    synced = run_cli("channel", "sync", "--shop", "demo", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "prom: 1 order(s) seen" in synced.stdout and "prom: 1 status(es) pushed" in synced.stdout
    assert prom_api.order(made["id"])["status"] == "received"
    assert TOKEN not in synced.stdout + synced.stderr

    listed = run_cli("orders", "--shop", "demo", env=env)
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if f"PROM-{made['id']}" in line]
    assert f"prom {made['id']} [pending]" in line and "20450012345678" in line


def test_a_channel_that_refuses_shows_in_orders_attention(shop_db, db_url, tmp_path, prom_api):
    made = prom_api.add_order(products=[("102", 1)])
    env = env_for(db_url, prom_api, shop_dir(tmp_path, status_map={"reserved": "no_such_status"}))
    assert run_cli("channel", "pull", "--shop", "demo", env=env).returncode == 0

    pushed = run_cli("channel", "push", "--shop", "demo", "--channel", "prom", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "1 refused" in pushed.stdout

    attention = run_cli("orders", "--shop", "demo", "--attention", env=env)
    [line] = [line for line in attention.stdout.splitlines() if f"PROM-{made['id']}" in line]
    assert "prom refused the last status" in line and "unknown status" in line


def test_a_shop_without_channels_says_so(shop_db, db_url, tmp_path, prom_api):
    settings = shop_settings(tmp_path / "inbox").model_dump(mode="json", exclude_none=True)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "demo.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    result = run_cli("channel", "sync", "--shop", "demo", env=env_for(db_url, prom_api, str(tmp_path / "plain")))
    assert result.returncode == 0 and "has no channels" in result.stdout
