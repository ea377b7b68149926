"""Real Airflow runs against a real metadata database (PostgreSQL, `airflow db migrate`): what the scheduler
and the dag-processor record, not only what the DAG files build.

- A task failing with a PermanentError fails at once (try 1 of 4) and sends one alert; a task whose database
  connection fails is retried and succeeds on its second try (`dag.test()`, the shopsync task glue).
- One broken shop file: after the DAG files are parsed and written to the metadata database as the
  dag-processor does, the other shop's DAGs are active (not stale) and the import error names the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mail_server import RECIPIENTS, SmtpServer
from shop_files import shop_settings, write_shop

from shopsync import testing

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Iterator[dict[str, str]]:
    """An Airflow home with its own migrated metadata database; the environment to run Airflow in."""
    home = tmp_path_factory.mktemp("airflow_home")
    metadata_url = testing.create_database("shopsync_runs_meta")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "tests")]),
        "PYTHONWARNINGS": "ignore",
    })
    result = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    try:
        yield env
    finally:
        testing.drop_database(metadata_url)


def run_python(env: dict[str, str], script: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-5000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


FAIL_FAST_DAG = '''
"""A DAG with the shop DAGs' glue: default_args(shop) and @shop_task bodies (airflow dag file)."""
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from airflow.sdk import dag, task

from shopsync.airflow.tasks import default_args, shop_task
from shopsync.core.config import get_shop
from shopsync.core.errors import ConfigError

MARKER = Path(__file__).with_name("flaky-tried-once")


@dag(dag_id="fail_fast", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
     default_args={**default_args(get_shop("alerted")), "retry_delay": timedelta(0),
                   "retry_exponential_backoff": False})
def fail_fast():
    @task
    @shop_task
    def settings_broken():
        raise ConfigError("include/shops/alerted.yaml: feeds.0.file: '../x.trs' must be a plain file name")

    @task
    @shop_task
    def database_flaky():
        if not MARKER.exists():          # the first try: the database does not answer
            MARKER.touch()
            sa.create_engine("postgresql://nobody@127.0.0.1:1/none").connect()
        return "answered on the second try"

    settings_broken()
    database_flaky()


fail_fast()
'''

RUN_DAG_TEST = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
run = bag.dags["fail_fast"].test()
with create_session() as session:
    tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == "fail_fast",
                                                     TaskInstance.run_id == run.run_id)).all()
    print(json.dumps({ti.task_id: [str(ti.state.value if hasattr(ti.state, "value") else ti.state), ti.try_number]
                      for ti in tis}))
"""


def test_a_permanent_error_fails_at_once_with_one_alert_and_a_lost_database_retries(
        tmp_path: Path, airflow_home: dict[str, str], smtp_server: SmtpServer) -> None:
    shops = tmp_path / "shops"
    shops.mkdir()
    data = shop_settings("alerted")
    data["alert_emails"] = RECIPIENTS
    write_shop(shops, data)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "fail_fast.py").write_text(FAIL_FAST_DAG, encoding="utf-8")
    env = {**airflow_home, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "SHOPSYNC_SHOPS_DIR": str(shops),
           "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection_json()}

    states = run_python(env, RUN_DAG_TEST, str(dags))

    assert states["settings_broken"] == ["failed", 1]        # retries=3, but not one was used
    assert states["database_flaky"] == ["success", 2]        # DatabaseUnavailable: retried
    assert len(smtp_server.received) == 1                      # one alert, for the failed task only
    text = smtp_server.received[0].body("plain")
    assert "failed at task settings_broken" in text
    assert "It failed at once, without retries: a ConfigError cannot pass on a retry." in text


SYNC_TO_METADATA = r"""
import json, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
from airflow.models.dag import DagModel
from airflow.models.errors import ParseImportError
from airflow.utils.session import create_session
from sqlalchemy import select

manager = DagBundlesManager()
manager.sync_bundles_to_db()
for bundle in manager.get_all_dag_bundles():
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    sync_bag_to_db(bag, bundle.name, bundle.version)
with create_session() as session:
    print(json.dumps({
        "dags": {dm.dag_id: {"stale": dm.is_stale, "import_errors": dm.has_import_errors}
                 for dm in session.scalars(select(DagModel))},
        "errors": {error.filename: error.stacktrace for error in session.scalars(select(ParseImportError))},
    }))
"""


def test_the_metadata_database_keeps_the_good_shops_dags_active_beside_a_broken_shop_file(
        tmp_path: Path, airflow_home: dict[str, str]) -> None:
    shops = tmp_path / "shops"
    shops.mkdir()
    write_shop(shops, shop_settings("good"))
    broken = write_shop(shops, shop_settings("broken", schedule="0 25 * * *"))
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**airflow_home, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "SHOPSYNC_SHOPS_DIR": str(shops),
           "SHOPSYNC_DB_URL": "postgresql://nobody@127.0.0.1:1/none"}

    recorded = run_python(env, SYNC_TO_METADATA)

    good = {dag_id: state for dag_id, state in recorded["dags"].items() if dag_id.startswith("shop_good__")}
    assert good == {"shop_good__catalog_export": {"stale": False, "import_errors": False},
                    "shop_good__fulfilment": {"stale": False, "import_errors": False},
                    "shop_good__orders_ingest": {"stale": False, "import_errors": False}}
    assert not any(dag_id.startswith("shop_broken__") for dag_id in recorded["dags"])
    assert list(recorded["errors"]) == ["shop_settings.py"]
    assert f"{broken}: schedule: '0 25 * * *' is not a valid cron expression" in recorded["errors"]["shop_settings.py"]
    assert yaml.safe_load(broken.read_text(encoding="utf-8"))["schedule"] == "0 25 * * *"
