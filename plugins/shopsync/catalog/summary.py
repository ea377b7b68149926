"""A run's short summary: items per feed, what changed, what was rejected and why, the categories a marketplace
feed's offers use that have no marketplace id, bytes, time per stage; as a dict (the summary task's result, the
run's summary.json) and as lines for the log and `shopsync export`."""

from __future__ import annotations

from shopsync.catalog.category_maps import describe, fix_command
from shopsync.catalog.run import EXTRACT_STAGES, ExportRun
from shopsync.catalog.workspace import write_json


def summary_of(run: ExportRun, stage_results: list[dict]) -> dict:
    """The summary, from the results the stages returned (a stage that did not run is left out)."""
    results = {result["stage"]: result for result in stage_results if result}
    built = results.get("write_feeds", {})
    extracts = [r for r in results.values() if r["stage"] in EXTRACT_STAGES]
    return {
        "shop": run.shop.id, "run": run.key,
        "feeds": built.get("feeds", {}),
        "changed": {r["dataset"]: r["changed"] for r in extracts},
        "feed_pass": built.get("mode"),     # "incremental": only the changed goods were rendered again
        "read_back_workers_peak_mb": built.get("worker_peaks_mb", []),
        "rejected": built.get("rejected", 0),
        "rejected_by_reason": built.get("rejected_by_reason", {}),
        "unencodable": built.get("unencodable", {}),     # characters a feed's code page lacks, written as '?'
        "unmapped_categories": built.get("unmapped_categories", {}),   # per feed: category_maps.feed_report
        "full_because": {r["dataset"]: r["full_reason"] for r in extracts if r.get("full_reason")},   # identity.py
        "database_check": results.get("compare_database", results.get("validate", {}).get("database", {})).get(
            "summary"),
        "bytes_published": results.get("publish", {}).get("bytes", 0),
        "report": results.get("validate", {}).get("report"),
        "seconds_by_stage": {name: result.get("seconds") for name, result in results.items()},
    }


def write_summary(run: ExportRun, summary: dict) -> None:
    """summary.json marks the run as finished (pruning.py)."""
    write_json(run.run_dir_path("summary.json"), summary)


def summary_lines(summary: dict) -> list[str]:
    lines = [f"catalog export of shop {summary['shop']}, run {summary['run']}"]
    for file, figures in sorted(summary["feeds"].items()):
        lines.append(f"  feed {file:<24} {figures['rows']:>9,} items {figures['bytes']:>13,} bytes")
    changed = ", ".join(f"{k} {v:,}" for k, v in summary["changed"].items())
    lines.append(f"  changed: {changed or 'nothing'}" + (f"; feeds: {summary['feed_pass']} pass"
                                                          if summary.get("feed_pass") else ""))
    for dataset, reason in summary.get("full_because", {}).items():
        lines.append(f"  {dataset} read in full: {reason}")
    if summary.get("database_check"):
        lines.append(f"  {summary['database_check']}")
    reasons = ", ".join(f"{k}: {v}" for k, v in summary["rejected_by_reason"].items())
    lines.append(f"  rejected: {summary['rejected']}" + (f" ({reasons})" if reasons else ""))
    for file, figures in sorted(summary.get("unencodable", {}).items()):
        lines.append(f"  {file}: {figures['count']:,} characters its encoding lacks written as '?' "
                     f"(e.g. {', '.join(figures['examples'])})")
    lines.extend(_unmapped_lines(summary))
    lines.append(f"  bytes published: {summary['bytes_published']:,}")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in summary["seconds_by_stage"].items() if v is not None)
    lines.append(f"  time per stage: {timings}")
    return lines


def _unmapped_lines(summary: dict) -> list[str]:
    reports = summary.get("unmapped_categories", {})
    lines = [f"  {describe(file, report)}" for file, report in sorted(reports.items())]
    for channel in sorted({report["channel"] for report in reports.values()}):
        lines.append(f"    to map them: {fix_command(summary['shop'], channel)}")
    return lines
