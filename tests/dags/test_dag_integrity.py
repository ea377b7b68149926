"""DAG files: import cleanly and fast, touch no database at parse time, one DAG per shop per pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PARSE_DAGS = r"""
import json, sys, time

def forbidden(*args, **kwargs):
    raise RuntimeError("database access at DAG parse time")

import psycopg, psycopg2
import shopsync.core.db as db
psycopg.connect = psycopg2.connect = forbidden
db.get_engine = db.resolve_db_url = db.embedded_server_url = forbidden

from airflow.dag_processing.dagbag import DagBag

started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
seconds = time.perf_counter() - started
from shopsync.core.errors import ConfigError, DatabaseUnavailable


def retry_decisions(task):
    policy = task.retry_policy
    if policy is None:
        return None
    return {error.__name__: policy.evaluate(error("x"), try_number=1, max_tries=3).action.value
            for error in (ConfigError, DatabaseUnavailable, ValueError)}


dags = {}
for dag_id, dag in bag.dags.items():
    args = dag.default_args
    dags[dag_id] = {
        "tags": sorted(dag.tags), "owner": args.get("owner"), "retries": args.get("retries"),
        "backoff": args.get("retry_exponential_backoff"), "timeout": str(args.get("execution_timeout")),
        "callback": args.get("on_failure_callback") is not None,
        "doc_md": dag.doc_md or "", "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__, "tasks": sorted(dag.task_ids),
        "retry_decisions": {task.task_id: retry_decisions(task) for task in dag.tasks},
        "shopsync_bodies": {task.task_id: getattr(task.python_callable, "shopsync_task", False)
                            for task in dag.tasks},
    }
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "seconds": seconds, "dags": dags}))
"""


def parse_dags(tmp_path: Path, shops_dir: Path) -> dict:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow_home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "SHOPSYNC_SHOPS_DIR": str(shops_dir), "SHOPSYNC_DB_URL": "postgresql://nobody:secret@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", PARSE_DAGS, str(ROOT / "dags")], env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_shops(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("shops")
    shutil.copy(ROOT / "include" / "shops" / "demo.yaml", directory / "demo.yaml")
    second = (ROOT / "include" / "shops" / "demo.yaml").read_text(encoding="utf-8").replace("id: demo", "id: kyiv")
    second = second.replace(".local/shops/demo", ".local/shops/kyiv") + CHANNELS + CARRIER
    (directory / "kyiv.yaml").write_text(second, encoding="utf-8")
    return directory


CHANNELS = """
channels:
  - {kind: prom, conn_id: prom_kyiv}
  - {kind: rozetka, conn_id: rozetka_kyiv, schedule: "*/2 * * * *"}
"""
CARRIER = """
carrier:
  kind: nova_poshta
  conn_id: nova_poshta_kyiv
  sender: {name: "ТОВ Київ", phone: "380501234567", city_ref: c, counterparty_ref: s, address_ref: a, contact_ref: p}
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory, two_shops) -> dict:
    return parse_dags(tmp_path_factory.mktemp("parse"), two_shops)


def test_dag_files_import_without_errors_or_database_access(parsed):
    assert parsed["errors"] == {}


def test_dag_files_parse_in_under_two_seconds(parsed):
    assert parsed["seconds"] < 2.0, f"DagBag took {parsed['seconds']:.2f} s"


def test_one_dag_per_shop_and_pipeline(parsed):
    assert sorted(parsed["dags"]) == [
        "carrier_directory__nova_poshta", "shop_demo__catalog_export", "shop_demo__fulfilment",
        "shop_demo__orders_ingest", "shop_kyiv__catalog_export", "shop_kyiv__fulfilment", "shop_kyiv__orders_ingest",
        "shop_kyiv__prom_sync", "shop_kyiv__rozetka_sync",
    ]


def test_every_dag_is_described_owned_tagged_and_retried(parsed):
    for dag_id, dag in parsed["dags"].items():
        shop = dag_id.split("__")[0].removeprefix("shop_")
        if dag_id.startswith("carrier_directory__"):
            assert dag["tags"] == sorted(["carriers", dag_id.split("__")[1]]), dag_id
        elif dag_id.endswith("_sync"):
            channel = dag_id.split("__")[1].removesuffix("_sync")
            assert dag["tags"] == sorted([f"shop:{shop}", "channels", channel]), dag_id
        elif dag_id.endswith("__fulfilment"):
            assert dag["tags"] == sorted([f"shop:{shop}", "fulfilment", "nova_poshta"]), dag_id
        else:
            kind = "catalog" if dag_id.endswith("catalog_export") else "orders"
            assert dag["tags"] == sorted([f"shop:{shop}", kind]), dag_id
        assert dag["owner"] and dag["owner"] != "airflow", dag_id
        assert dag["retries"] >= 1 and dag["backoff"] is True, dag_id
        assert dag["callback"], f"{dag_id}: no on_failure_callback"
        assert dag["max_active_runs"] == 1, dag_id
        assert dag["timeout"] != "None", f"{dag_id}: no execution_timeout"
        assert "Backfill" in dag["doc_md"] and "By hand" in dag["doc_md"], dag_id


def test_every_task_fails_a_permanent_error_at_once_and_retries_the_rest(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, decisions in dag["retry_decisions"].items():
            assert decisions == {"ConfigError": "fail", "DatabaseUnavailable": "default", "ValueError": "default"}, (
                f"{dag_id}.{task_id}")
        assert all(dag["shopsync_bodies"].values()), f"{dag_id}: a task body without @shop_task"


def test_catalog_export_uses_real_data_intervals_and_readable_stages(parsed):
    dag = parsed["dags"]["shop_demo__catalog_export"]
    assert dag["timetable"] == "AssetOrTimeSchedule"
    assert {"check_database", "extract.goods", "transform.photos", "transform.write_feeds", "validate",
            "publish", "summary"} <= set(dag["tasks"])
    assert parsed["dags"]["shop_demo__orders_ingest"]["timetable"] == "CronDataIntervalTimetable"


def test_channel_sync_pulls_then_pushes_statuses_then_stock_and_follows_stock_changes(parsed):
    for channel in ("prom", "rozetka"):
        dag = parsed["dags"][f"shop_kyiv__{channel}_sync"]
        assert dag["timetable"] == "AssetOrTimeSchedule"
        assert dag["tasks"] == ["pull_orders", "push_statuses", "push_stock", "signal_stock_changed"]
    assert "Rozetka has no stock API" in parsed["dags"]["shop_kyiv__rozetka_sync"]["doc_md"]
    assert "prom_kyiv" in parsed["dags"]["shop_kyiv__prom_sync"]["doc_md"]


def test_fulfilment_ships_and_tracks_then_notifies_reports_and_signals(parsed):
    dag = parsed["dags"]["shop_kyiv__fulfilment"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["tasks"] == ["notify", "report", "ship", "signal_changes", "track"]
    assert "nova_poshta_kyiv" in dag["doc_md"] and "shopsync_order_states_changed" in dag["doc_md"]


def test_carrier_directory_is_weekly_and_uses_the_first_shops_connection(parsed):
    dag = parsed["dags"]["carrier_directory__nova_poshta"]
    assert dag["timetable"] == "CronTriggerTimetable" and dag["tasks"] == ["refresh"]
    assert "nova_poshta_demo" in dag["doc_md"] and "nova_poshta_kyiv" not in dag["doc_md"]      # demo.yaml sorts first
    assert "shopsync carriers refresh --kind nova_poshta" in dag["doc_md"]


def test_a_broken_shop_file_is_an_import_error_naming_the_file(tmp_path, two_shops):
    shops = tmp_path / "shops"
    shutil.copytree(two_shops, shops)
    (shops / "kyiv.yaml").write_text("id: kyiv\nname: x\n", encoding="utf-8")
    parsed = parse_dags(tmp_path, shops)
    assert parsed["errors"]
    assert all("kyiv.yaml" in message for message in parsed["errors"].values())


@pytest.mark.parametrize(("change", "key"), [
    (("schedule: \"0 * * * *\"", "schedule: \"0 25 * * *\""), "schedule"),
    (("file: TSGoods.trs", "file: ../../TSGoods.trs"), "feeds.0.file"),
    (("id: kyiv", "id: [kyiv"), "not valid YAML"),
])
def test_a_broken_shop_file_leaves_the_other_shops_dags_loaded(tmp_path, two_shops, change, key):
    """Airflow's DagBag over the real DAG files: the good shop's DAGs load, and the one import error (of
    dags/shop_settings.py, a file without DAGs, so no good DAG is marked stale with it) names the file and key."""
    shops = tmp_path / "shops"
    shutil.copytree(two_shops, shops)
    broken = shops / "kyiv.yaml"
    text = broken.read_text(encoding="utf-8")
    assert change[0] in text
    broken.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")

    parsed = parse_dags(tmp_path, shops)

    assert sorted(parsed["dags"]) == ["carrier_directory__nova_poshta", "shop_demo__catalog_export",
                                      "shop_demo__fulfilment", "shop_demo__orders_ingest"]
    assert list(parsed["errors"]) == [str(ROOT / "dags" / "shop_settings.py")]
    message = parsed["errors"][str(ROOT / "dags" / "shop_settings.py")]
    assert f"{broken}: {key}" in message
    assert "demo.yaml" not in message
