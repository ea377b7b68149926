"""The checks a run's written feeds pass before they are published: Great Expectations on every feed (from what
the build read back, or the file itself), then the feeds against the database as it is now. A failure raises
FeedValidationError: nothing is published and the last good feeds stay in place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from shopsync.catalog import extract
from shopsync.catalog.build import VALIDATED_PROFILES, feed_context
from shopsync.catalog.changes import force_full_rebuild
from shopsync.catalog.run import ExportRun, elapsed, extract_overlap
from shopsync.catalog.run_files import (
    FeedFileStats,
    ReadBackNotes,
    read_changes,
    read_feed_stats,
    read_read_back,
    read_rejections,
    read_snapshot_counts,
)
from shopsync.catalog.workspace import write_json
from shopsync.stock import shop_warehouses

# --- Great Expectations on the written feeds -----------------------------------------------------------------

def check_written_feeds(run: ExportRun) -> dict:
    """Great Expectations on every written feed, read back; the report goes to validation-report.md."""
    import pandas as pd

    from shopsync.catalog.feeds import feed_file_name
    from shopsync.catalog.validation.report import summarize, write_report
    from shopsync.catalog.validation.results import unreadable_feed, validate_feed
    from shopsync.catalog.validation.rules import FeedValidationError

    started = time.perf_counter()
    expected_all = pd.read_parquet(run.run_dir_path("expected.parquet"))
    expected_visible = expected_all[expected_all["visible"]]
    # TSGoods lists hidden goods with Display 0 and no stock; WooCommerce keeps their stock, unpublished.
    expected_torgsoft = expected_all.assign(free_stock=expected_all["free_stock"].where(expected_all["visible"], 0))
    read_back = read_read_back(run)
    written = {stats.file: stats for stats in read_feed_stats(run)}
    validations = []
    for feed in run.shop.feeds:
        if feed.profile not in VALIDATED_PROFILES:
            continue
        expected = {"torgsoft_csv": expected_torgsoft, "woocommerce_csv": expected_all}.get(
            feed.profile, expected_visible)
        path = run.workspace.out_dir(run.key) / feed_file_name(feed)
        problems = read_back.problems.get(path.name) or _changed_since_written(path, written.get(path.name))
        if problems:
            validations.append(unreadable_feed(path, feed.profile, problems, time.perf_counter()))
            continue
        validations.append(validate_feed(path, feed.profile, expected[["good_id", "free_stock"]],
                                         encoding=feed.encoding, published_photo_dir=run.workspace.photos_dir,
                                         data=_read_back_offers(run, path.name, feed.profile, read_back)))
    rejections = read_rejections(run)
    report = run.run_dir_path("validation-report.md")
    write_report(validations, rejections, report, title=f"Shop {run.shop.id}, run {run.key}")
    summary = summarize(validations, rejections)
    failed = [v for v in validations if not v.success]
    if failed:
        raise FeedValidationError(f"{len(failed)} feed(s) failed validation and were not published; "
                                  f"the last good feeds stay in place. Report: {report}\n{summary}")
    return {"stage": "validate", "feeds": len(validations),
            "rows": {Path(v.path).name: v.rows for v in validations},
            "report": str(report), "summary": summary, "seconds": elapsed(started)}


def _changed_since_written(path: Path, stats: FeedFileStats | None) -> list[str]:
    """A feed validated from what the writer read back must still be the file it wrote."""
    if stats is None or stats.mtime_ns is None:
        return []
    try:
        current = os.stat(path)
    except OSError as exc:
        return [f"the feed file is gone: {exc}"]
    if current.st_size != stats.bytes or current.st_mtime_ns != stats.mtime_ns:
        return [f"the feed file changed after it was written ({stats.bytes:,} bytes written, "
                f"{current.st_size:,} there now): run the export again"]
    return []


def _read_back_offers(run: ExportRun, file_name: str, profile: str, read_back: ReadBackNotes) -> Any:
    """The offers the catalog pass read back from a feed it wrote, in chunks of tuning.validate_chunk_offers
    offers; None when it read none back (validate_feed then reads the file itself)."""
    import pyarrow.parquet as pq

    from shopsync.catalog.validation.read_back import YML_PROFILES, FeedData

    path = run.run_dir_path("offers") / f"{file_name}.parquet"
    if not path.exists():
        return None
    absent = read_back.absent_offer_columns.get(file_name, [])
    missing = read_back.missing_columns.get(file_name, [])
    categories = {str(category_id) for category_id in feed_context(run).categories} \
        if profile in YML_PROFILES else None
    chunk_offers = run.tuning.validate_chunk_offers

    def chunks() -> Iterator[FeedData]:
        offers = pq.ParquetFile(path)
        parts = offers.iter_batches(batch_size=chunk_offers) if offers.metadata.num_rows \
            else [offers.schema_arrow.empty_table()]          # a feed without offers: one empty chunk
        for part in parts:
            yield FeedData(part.to_pandas().drop(columns=absent), category_ids=categories, missing_columns=missing)

    return chunks()


# --- the feeds against the database --------------------------------------------------------------------------

def compare_feeds_with_database(engine: Engine, run: ExportRun) -> dict:
    """The built feeds against the database as it is now (validation/database.py): counts and a sample of goods.

    A difference that a change since the extract does not explain blocks the publish (FeedValidationError),
    goes into the validation report, and makes the shop's next run a full rebuild: the snapshot is not what
    the database says, and change_log cannot tell what else is wrong.
    """
    import pyarrow.parquet as pq

    from shopsync.catalog.feeds import feed_file_name
    from shopsync.catalog.validation import database as validate_db
    from shopsync.catalog.validation.rules import FeedValidationError

    started = time.perf_counter()
    since = _goods_extracted_at(run) - extract_overlap()
    offers = run.run_dir_path("offers")           # what the catalog pass read back, per feed it wrote
    feeds = [validate_db.FeedOffers(name, feed.profile, offers / f"{name}.parquet") for feed in run.shop.feeds
             if (offers / f"{(name := feed_file_name(feed))}.parquet").exists()]
    conn = extract.consistent_read(engine)
    try:
        comparison = validate_db.compare(
            conn, currency=run.shop.currency, warehouse_ids=shop_warehouses(conn, run.shop.warehouses), since=since,
            expected=pq.read_table(run.run_dir_path("expected.parquet")),
            feed_counts=read_snapshot_counts(run).to_json(), feeds=feeds, seed=run.key,
            size=validate_db.sample_size(run.tuning.database_sample))
    finally:
        conn.rollback()
        conn.close()
    write_json(run.run_dir_path("database-check.json"), comparison.as_json())
    report = run.run_dir_path("validation-report.md")
    with open(report, "a", encoding="utf-8") as out:
        out.write(comparison.markdown())
    if not comparison.success:
        force_full_rebuild(run, "the last run's feeds disagreed with the database: " + comparison.problems()[0])
        problems = "\n".join(f"  {line}" for line in comparison.problems())
        raise FeedValidationError(f"the feeds disagree with the database and were not published; the last good "
                                  f"feeds stay in place and the next run rebuilds in full. Report: {report}\n"
                                  f"{comparison.summary()}\n{problems}")
    return {"stage": "compare_database", "sampled": comparison.sampled, "excused": len(comparison.excused),
            "counts": comparison.counts, "summary": comparison.summary(), "seconds": elapsed(started)}


def _goods_extracted_at(run: ExportRun) -> datetime:
    meta = read_changes(run, "goods")
    if meta is None:
        raise FileNotFoundError(run.workspace.changed_ids_path(run.key, "goods"))
    return meta.extracted_at
