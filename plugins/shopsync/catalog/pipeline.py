"""The catalog export's stage entry points: what the DAG tasks and `shopsync export` call, in order.

extract_dataset, extract_categories -> resize_photos -> merge_dataset -> build_feeds -> validate_feeds
(-> compare_with_database) -> publish_feeds -> summarise

Each stage takes an ExportRun (catalog/run.py), reads and writes files in the run's directory (typed in
catalog/run_files.py) and returns a small JSON-able dict: what Airflow passes between tasks as XCom. The work
itself is done elsewhere, one module per job: changes.py (extract and merge), photo_refs.py (photos to
resize), build.py (the feeds), feed_checks.py (validation), publish/run.py, summary.py and pruning.py.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime

from sqlalchemy.engine import Engine

from shopsync.catalog import changes
from shopsync.catalog.build import build_feeds
from shopsync.catalog.feed_checks import check_written_feeds, compare_feeds_with_database
from shopsync.catalog.guards import StaleDataError
from shopsync.catalog.pruning import prune_runs, runs_to_keep
from shopsync.catalog.run import DATASETS, ExportRun, elapsed
from shopsync.catalog.summary import summary_lines, summary_of, write_summary
from shopsync.catalog.workspace import new_run_id

log = logging.getLogger(__name__)

__all__ = [
    "DATASETS", "VALIDATE_STAGE", "ExportRun", "build_feeds", "compare_with_database", "extract_categories",
    "extract_dataset", "merge_dataset", "prune_runs", "publish_feeds", "publish_photos", "resize_photos",
    "run_export", "summarise", "summary_lines", "validate_feeds",
]


def extract_dataset(engine: Engine, run: ExportRun, dataset: str) -> dict:
    """Read one data set (all, or what changed) into the run's changes/<dataset>.arrow."""
    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    meta, rows = changes.extract_changes(engine, run, dataset)
    return {
        "stage": f"extract_{dataset}", "dataset": dataset, "mode": meta.mode, "full_reason": meta.full_reason,
        "changed": len(meta.ids) if meta.incremental else rows, "rows_read": rows, "seconds": elapsed(started),
    }


def extract_categories(engine: Engine, run: ExportRun) -> dict:
    """The classifier, read whole every run."""
    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    rows = changes.extract_category_records(engine, run)
    return {"stage": "extract_categories", "rows_read": rows, "seconds": elapsed(started)}


def merge_dataset(run: ExportRun, dataset: str) -> dict:
    """Fold the run's changes into the shop's snapshot (replace it for a full extract)."""
    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    meta, stats = changes.merge_changes(run, dataset)
    return {
        "stage": f"merge_{dataset}", "mode": meta.mode, "total": stats.total, "replaced": stats.replaced,
        "added": stats.added, "removed": stats.removed, "seconds": elapsed(started),
    }


def resize_photos(run: ExportRun) -> dict:
    """Resize originals that changed (content-addressed by checksum: a photo shared by goods is done once)."""
    from shopsync.catalog.photo_refs import resize_referenced_photos

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    if not run.shop.photos.enabled:
        return {"stage": "photos", "enabled": False, "seconds": elapsed(started)}
    report, problems = resize_referenced_photos(run)
    return {"stage": "photos", "processed": report.processed, "unchanged": report.unchanged,
            "failed": len(problems), "failed_examples": [p.to_json() for p in problems[:5]],
            "removed": len(report.removed), "seconds": elapsed(started)}


def validate_feeds(run: ExportRun, engine: Engine | None = None) -> dict:
    """Great Expectations on every written feed, read back; with an engine, then the feeds against the
    database (compare_with_database). Raises (nothing is published) on failure."""
    run.workspace.begin_stage(run.key)
    result = check_written_feeds(run)
    if engine is not None:
        result["database"] = compare_with_database(engine, run)
    return result


def compare_with_database(engine: Engine, run: ExportRun) -> dict:
    """The built feeds against the database as it is now; a difference blocks the publish (feed_checks.py)."""
    return compare_feeds_with_database(engine, run)


def publish_photos(run: ExportRun) -> int:
    """Only the photos the destination does not have yet, without a new feed set; returns how many."""
    from shopsync.catalog.publish.run import publish_missing_photos

    return publish_missing_photos(run)


def publish_feeds(run: ExportRun, published_at: datetime | None = None) -> dict:
    """The run's set, all or nothing, after the publish order rule and the shrink guard (publish/run.py)."""
    from shopsync.catalog.publish.run import publish_feed_set

    started = time.perf_counter()
    run.workspace.begin_stage(run.key)
    published = publish_feed_set(run, published_at)
    return {
        "stage": "publish", "destination": f"{run.shop.destination.kind}:{run.shop.destination.path}",
        "set": published.set_id, "recovered": published.recovered,
        "files": [result.remote_name for result in published.results],
        "photos_uploaded": published.photos_uploaded, "bytes": published.bytes, "seconds": elapsed(started),
        "asset_extra": {
            "shop": run.shop.id, "run": run.key, "feeds": {f.file: f.rows for f in published.feeds},
            "bytes": published.bytes, "photos_uploaded": published.photos_uploaded,
        },
    }


def summarise(run: ExportRun, stage_results: list[dict]) -> dict:
    """The run's short summary (summary.py), logged and written; then old runs are pruned."""
    summary = summary_of(run, stage_results)
    for line in summary_lines(summary):
        log.info(line)
    write_summary(run, summary)
    prune_runs(run.workspace, keep=runs_to_keep(), current=run.key)
    return summary


# --- everything, in order (what `shopsync export` runs; the DAG runs the same stages as tasks) ----------------

def run_export(engine: Engine, run: ExportRun, *, dry_run: bool = False) -> dict:
    """All stages in order; with dry_run everything but publishing (feeds stay in the run directory).

    When another export of the shop merged or published newer data first (StaleDataError), nothing of this
    run's data is published: the export starts again from fresh data as a new run (at most
    run.tuning.stale_reruns times).
    """
    run.workspace.sweep_dead_runs()
    reruns = run.tuning.stale_reruns
    for attempt in range(reruns + 1):
        try:
            with run.workspace.holding_run(run.key):
                return _run_stages(engine, run, dry_run=dry_run)
        except StaleDataError as exc:
            if attempt == reruns:
                raise
            log.warning("%s; starting again from fresh data", exc)
            now = datetime.now(run.interval_end.tzinfo).replace(microsecond=0)
            run = dataclasses.replace(run, interval_end=max(now, run.interval_end), run_id=new_run_id())
    raise AssertionError("unreachable")


VALIDATE_STAGE = f"{__name__}:validate_feeds"      # what the validation helper process runs


def _run_stages(engine: Engine, run: ExportRun, *, dry_run: bool) -> dict:
    """Great Expectations takes seconds of CPU to import, so it starts loading at once: for an incremental run
    in a helper process that then validates (validation/worker.py), for a full run in a thread (a helper
    process would add its memory to the read-back workers' of the full pass; see docs/decisions.md).
    """
    from shopsync.catalog.validation.suite import warm_up_great_expectations
    from shopsync.catalog.validation.worker import ValidationWorker

    validator = None if changes.is_full(run, "goods") else ValidationWorker()
    if validator is None:
        warm_up_great_expectations()
    try:
        results = [extract_dataset(engine, run, dataset) for dataset in DATASETS]
        results.append(extract_categories(engine, run))
        results.append(resize_photos(run))
        results.extend(merge_dataset(run, dataset) for dataset in DATASETS)
        results.append(build_feeds(run))
        results.append(validator.validate(VALIDATE_STAGE, run) if validator is not None else validate_feeds(run))
        results.append(compare_with_database(engine, run))
    finally:
        if validator is not None:
            validator.close()
    if not dry_run:
        results.append(publish_feeds(run))
    return summarise(run, results)
