"""The safety rails' overrides reach the export: DAG params allow_shrink / ignore_publish_order, the run id."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

from shopsync.airflow.tasks import export_run
from shopsync.core.config import get_shop

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalog_dag_offers_the_overrides_off_by_default(monkeypatch):
    monkeypatch.setenv("SHOPSYNC_SHOPS_DIR", str(ROOT / "include" / "shops"))
    spec = importlib.util.spec_from_file_location("catalog_export_dag", ROOT / "dags" / "catalog_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.build_dag(get_shop("demo"))
    params = dag.params.dump()
    assert params["allow_shrink"] is False and params["ignore_publish_order"] is False
    assert "allow_shrink" in dag.doc_md


def test_a_dag_runs_params_and_run_id_reach_the_export_run():
    end = datetime(2026, 11, 1, 1, tzinfo=UTC)
    context = {"data_interval_start": end.replace(hour=0), "data_interval_end": end,
               "run_id": "manual__2026-11-01T01:00:00+00:00", "params": {"allow_shrink": True}}
    run = export_run("demo", context)
    assert run.allow_shrink and not run.ignore_publish_order
    assert run.key == export_run("demo", {**context, "params": {}}).key            # a retry finds its files
    assert run.key.startswith("20261101T010000Z.manual-")
