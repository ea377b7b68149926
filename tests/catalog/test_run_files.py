"""The typed run files read what runs wrote before them, and write the same JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shopsync.catalog.run import ExportRun
from shopsync.catalog.run_files import (
    ChangesMeta,
    DatabasePositions,
    FeedFileStats,
    read_changes,
    read_feed_stats,
    read_positions,
    read_read_back,
    write_changes,
    write_feed_stats,
)
from shopsync.core.config import ShopSettings


def a_run(local_dir) -> ExportRun:
    shop = ShopSettings.model_validate({
        "id": "demo", "name": "Demo", "url": "https://demo.example", "feeds": [{"profile": "rozetka_yml"}],
        "destination": {"kind": "local", "path": str(local_dir / "published")},
        "orders_inbox": {"kind": "local", "path": str(local_dir / "inbox")}})
    end = datetime(2026, 12, 7, 1, tzinfo=UTC)
    return ExportRun(shop=shop, interval_start=end, interval_end=end)


def test_a_changes_file_of_an_earlier_run_reads_and_writes_back_the_same(local_dir):
    run = a_run(local_dir)
    before_merge = {"mode": "incremental", "ids": [3, 5], "extracted_at": "2026-12-07T00:59:58.123456+00:00",
                    "position": "10:12:11", "full_reason": None, "content_settings": "abc",
                    "database": {"epoch": "1", "change_log_id": 9}}
    merged = {**before_merge, "previous_snapshot_token": None, "snapshot_token": "0123456789abcdef"}
    for data in (before_merge, merged):
        path = run.workspace.changed_ids_path(run.key, "goods")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        meta = read_changes(run, "goods")
        assert meta.incremental and meta.ids == (3, 5) and meta.extracted_at.tzinfo is not None
        write_changes(run, "goods", meta)
        assert json.loads(path.read_text()) == data


def test_files_without_later_keys_still_read(local_dir):
    run = a_run(local_dir)
    path = run.workspace.changed_ids_path(run.key, "customers")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mode": "full", "ids": None, "extracted_at": "2026-12-07T00:59:58+00:00"}))
    assert read_changes(run, "customers") == ChangesMeta("full", None, datetime(2026, 12, 7, 0, 59, 58, tzinfo=UTC))
    assert read_changes(run, "goods") is None
    assert read_positions(run) == DatabasePositions({})
    assert read_read_back(run).problems == {}

    run.run_dir_path("feeds.json").write_text(json.dumps([{"file": "rozetka.xml", "profile": "rozetka_yml",
                                                           "rows": 3, "bytes": 120}]))
    assert read_feed_stats(run) == [FeedFileStats("rozetka.xml", "rozetka_yml", rows=3, bytes=120)]


def test_feed_stats_keep_their_json(local_dir):
    run = a_run(local_dir)
    entry = {"file": "TSGoods.trs", "profile": "torgsoft_csv", "rows": 2, "bytes": 50, "skipped": 1,
             "replaced_chars": 1, "truncated": 0, "replaced_examples": ["U+1F600 \U0001F600"], "mtime_ns": 7}
    write_feed_stats(run, [FeedFileStats.from_json(entry)])
    assert json.loads(run.run_dir_path("feeds.json").read_text()) == [entry]
    assert DatabasePositions.from_state({"goods": {"position": "1:2:"}, "customers": {}}).to_json() == {
        "goods": "1:2:"}
