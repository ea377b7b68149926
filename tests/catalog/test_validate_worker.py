"""The validation helper process: it answers with validate_feeds' result, or raises what validate_feeds raised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopsync.catalog.stages import ExportRun
from shopsync.catalog.validate_worker import ValidationWorker
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
        worker.validate(ExportRun(shop=shop, interval_start=end, interval_end=end))
    assert worker.worker.process.poll() is not None                      # and the helper has ended
