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

from shopsync.paths import local_dir


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
def _flocked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
