"""Keeping a shop's run directories in check: each holds a full set of feeds, so all but the latest go, but
never one still working. A run is over when it finished (summary.json written) or was abandoned (no stage
began for abandoned_after())."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta

from shopsync.catalog.workspace import ShopWorkspace


def abandoned_after() -> timedelta:
    """A run whose stages have not started for this long (and that never finished) is abandoned."""
    return timedelta(hours=float(os.environ.get("SHOPSYNC_ABANDONED_RUN_HOURS", "24")))


def runs_to_keep() -> int:
    return int(os.environ.get("SHOPSYNC_KEEP_RUNS", "48"))


def prune_runs(workspace: ShopWorkspace, keep: int, current: str) -> list[str]:
    """Delete all but the `keep` latest run directories, but never the current one nor one still working. Under
    the workspace lock, which every stage takes to mark its run working."""
    runs_root = workspace.root / "runs"
    if not runs_root.exists():
        return []
    doomed = []
    with workspace.lock():
        keys = sorted(path.name for path in runs_root.iterdir() if path.is_dir())
        for key in keys[:max(0, len(keys) - keep)]:
            if key != current and run_is_over(workspace, key):
                shutil.rmtree(runs_root / key, ignore_errors=True)
                doomed.append(key)
    return doomed


def run_is_over(workspace: ShopWorkspace, key: str) -> bool:
    if (workspace.run_dir(key) / "summary.json").exists():
        return True
    lease = workspace.lease_path(key)
    last_active = (lease if lease.exists() else workspace.run_dir(key)).stat().st_mtime
    return time.time() - last_active > abandoned_after().total_seconds()
