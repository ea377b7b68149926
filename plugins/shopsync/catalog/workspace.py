"""Where a shop's export keeps its files under .local/shops/<id>/, and its small JSON state."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from shopsync.core.paths import local_dir


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def new_file(path: Path) -> BinaryIO:
    """Open path for writing as a new file, never rewriting an existing one in place: a run's feed files are
    published and cached as hard links, which must keep their content when a retried task writes again."""
    path.unlink(missing_ok=True)
    return open(path, "xb")  # noqa: SIM115 - the caller closes it


def read_json(path: Path, default: Any = None) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def run_key(interval_end: datetime, run_id: str = "") -> str:
    """<interval end>[.<who runs it>-<hash of the run id>]: two runs of one interval (a CLI run and a DAG
    run, a backfill) never share a directory, while the tasks and retries of one DAG run find theirs."""
    key = interval_end.strftime("%Y%m%dT%H%M%SZ")
    if not run_id:
        return key
    kind = re.sub(r"[^a-z0-9]+", "", run_id.split("__", 1)[0].lower())[:12] or "run"
    return f"{key}.{kind}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


def new_run_id() -> str:
    """A run id of its own for a run outside Airflow (shopsync export, tests)."""
    return f"cli__{secrets.token_hex(8)}"


@dataclass(frozen=True)
class ShopWorkspace:
    shop_id: str

    @property
    def root(self) -> Path:
        return local_dir() / "shops" / self.shop_id

    @property
    def snapshot_dir(self) -> Path:
        return self.root / "snapshot"

    def snapshot(self, dataset: str) -> Path:
        return self.snapshot_dir / f"{dataset}.arrow"

    @property
    def categories_path(self) -> Path:
        return self.snapshot_dir / "categories.json"

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    @property
    def photos_dir(self) -> Path:
        """Resized photos, kept between runs (only changed originals are resized again)."""
        return self.root / "photos"

    @property
    def photos_state(self) -> Path:
        return self.root / "photos-state.json"

    def run_dir(self, key: str) -> Path:
        return self.root / "runs" / key

    def changes(self, key: str, dataset: str) -> Path:
        return self.run_dir(key) / "changes" / f"{dataset}.arrow"

    def changed_ids_path(self, key: str, dataset: str) -> Path:
        return self.run_dir(key) / "changes" / f"{dataset}.ids.json"

    def out_dir(self, key: str) -> Path:
        return self.run_dir(key) / "out"

    def read_state(self) -> dict:
        return read_json(self.state_path, {})

    def update_state(self, **changes: Any) -> dict:
        state = self.read_state()
        state.update(changes)
        write_json(self.state_path, state)
        return state

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise snapshot changes of one shop (scheduled runs, backfills and CLI runs may overlap)."""
        with _flocked(self.root / ".lock"):
            yield

    @contextmanager
    def publish_lock(self) -> Iterator[None]:
        """Serialise the publishes of one shop: the order check, recovery and upload happen under it."""
        with _flocked(self.root / ".publish.lock"):
            yield

    @contextmanager
    def build_lock(self) -> Iterator[None]:
        """Serialise the feed builds of one shop (they share the pass cache in rendered/)."""
        with _flocked(self.root / ".build.lock"):
            yield

    def lease_path(self, key: str) -> Path:
        return self.run_dir(key) / ".active"

    def begin_stage(self, key: str) -> None:
        """Mark a run as working (prune_runs leaves it alone): its lease file's time is now, and its summary
        (if a cleared run ran before) is gone until the run finishes again."""
        with self.lock():
            self.run_dir(key).mkdir(parents=True, exist_ok=True)
            self.lease_path(key).touch()
            (self.run_dir(key) / "summary.json").unlink(missing_ok=True)

    @contextmanager
    def holding_run(self, key: str) -> Iterator[None]:
        """A run done by one process from start to end (shopsync export) holds a lock on its directory's
        `.running` file while it lives: the lock is free once the process is gone, even after kill -9."""
        self.run_dir(key).mkdir(parents=True, exist_ok=True)
        with open(self.run_dir(key) / RUNNING, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def sweep_dead_runs(self) -> list[Path]:
        """Remove the temporary files that runs killed mid-write left (in run directories whose `.running` lock
        no process holds any more, and the snapshot's, which are written under the workspace lock)."""
        removed: list[Path] = []
        with self.lock():
            removed += _remove_temporary(self.snapshot_dir)
            for running in (self.root / "runs").glob(f"*/{RUNNING}"):
                with open(running, "a") as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue                    # its process still works
                    removed += _remove_temporary(running.parent)
                    running.unlink()
        return removed


RUNNING = ".running"
TEMPORARY_SUFFIXES = (".tmp",)


def _remove_temporary(directory: Path) -> list[Path]:
    """Files that are only ever temporary: *.tmp (replaced by rename when done) and *.part-* names."""
    if not directory.is_dir():
        return []
    doomed = [path for path in directory.rglob("*")
              if path.is_file() and (path.name.endswith(TEMPORARY_SUFFIXES) or ".part-" in path.name)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@contextmanager
def _flocked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
