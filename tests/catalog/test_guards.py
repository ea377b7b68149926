"""The shrink guard's arithmetic and coverage, without a database (the export tests run it end to end)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopsync.catalog.guards import ShrinkGuardError, check_shrink, shrinking_feeds
from shopsync.catalog.publish.run import guarded_rows
from shopsync.catalog.run import ExportRun
from shopsync.catalog.run_files import FeedFileStats
from shopsync.core.config import ShopSettings

PUBLISHED = {"published_at": "2026-12-06T10:00:00+00:00", "files": [
    {"name": "rozetka.xml", "rows": 1000}, {"name": "TSGoods.trs", "rows": 1200},
    {"name": "TSGoods.delta.trs", "rows": 900}, {"name": "customers.csv", "rows": 10}]}


def test_a_drop_beyond_the_limit_is_named_and_one_within_passes():
    assert shrinking_feeds({"rozetka.xml": 800, "TSGoods.trs": 1200}, PUBLISHED, 20) == []
    assert shrinking_feeds({"rozetka.xml": 799}, PUBLISHED, 20) == ["rozetka.xml: 1,000 -> 799 rows (-20.1 %)"]
    assert shrinking_feeds({"rozetka.xml": 0}, None, 20) == []            # nothing published yet


def test_the_error_says_how_to_override():
    with pytest.raises(ShrinkGuardError) as held:
        check_shrink("kyiv", {"customers.csv": 0}, PUBLISHED, 20)
    message = str(held.value)
    assert "customers.csv: 10 -> 0 rows (-100.0 %)" in message
    assert "shopsync export --shop kyiv --allow-shrink" in message and '{"allow_shrink": true}' in message


def test_every_full_feed_is_guarded_a_missing_one_counts_as_empty_and_deltas_are_not(tmp_path: Path):
    shop = ShopSettings.model_validate({
        "id": "demo", "name": "Demo", "url": "https://demo.example",
        "feeds": [{"profile": "rozetka_yml"}, {"profile": "torgsoft_csv", "delta": True},
                  {"profile": "customers_csv"}],
        "destination": {"kind": "local", "path": str(tmp_path / "published")},
        "orders_inbox": {"kind": "local", "path": str(tmp_path / "inbox")}})
    now = datetime.now(UTC)
    run = ExportRun(shop=shop, interval_start=now, interval_end=now)
    built = [FeedFileStats("TSGoods.trs", "torgsoft_csv", rows=1200, bytes=1),
             FeedFileStats("TSGoods.delta.trs", "torgsoft_csv", rows=3, bytes=1),
             FeedFileStats("customers.csv", "customers_csv", rows=10, bytes=1)]
    assert guarded_rows(run, built) == {"rozetka.xml": 0, "TSGoods.trs": 1200, "customers.csv": 10}
    assert shop.max_drop_percent == 20
