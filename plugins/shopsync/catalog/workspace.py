"""Where a shop's export keeps its files under .local/shops/<id>/, and its small JSON state."""

from __future__ import annotations

import fcntl
import json
import os
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


def run_key(interval_end: datetime) -> str:
    return interval_end.strftime("%Y%m%dT%H%M%SZ")


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
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
