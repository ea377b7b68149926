"""The validation helper process: it answers with validate_feeds' result, or raises what validate_feeds raised."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopsync.catalog.pipeline import VALIDATE_STAGE
from shopsync.catalog.run import ExportRun
from shopsync.catalog.validation import worker as worker_module
from shopsync.catalog.validation.worker import ValidationWorker
from shopsync.core.config import ShopSettings


def test_a_failure_in_the_helper_is_raised_in_the_caller(local_dir):
    shop = ShopSettings.model_validate({
        "id": "nothing_built", "name": "N", "url": "https://n.example", "warehouses": [1],
        "feeds": [{"profile": "rozetka_yml"}],
        "destination": {"kind": "local", "path": str(local_dir / "published")},
        "orders_inbox": {"kind": "local", "path": str(local_dir / "inbox")},
    })
    end = datetime(2026, 11, 26, 12, tzinfo=UTC)
    worker = ValidationWorker()
    with pytest.raises(FileNotFoundError, match="expected.parquet"):     # no feeds were built for this run
        worker.validate(VALIDATE_STAGE, ExportRun(shop=shop, interval_start=end, interval_end=end))
    assert worker.worker.process.poll() is not None                      # and the helper has ended


def test_the_worker_imports_no_pipeline_module() -> None:
    """No import circle with pipeline.py: the caller passes the stage to run, the worker names none."""
    tree = ast.parse(Path(worker_module.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    named = {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert not {name for name in imported | named if name.startswith("shopsync.catalog.pipeline")}
