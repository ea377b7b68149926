"""Where the project keeps its files: found from this package, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout this package lives in (or SHOPSYNC_HOME)."""
    if home := os.environ.get("SHOPSYNC_HOME"):
        return Path(home).resolve()
    return Path(__file__).resolve().parents[3]


def include_dir() -> Path:
    return project_root() / "include"


def local_dir() -> Path:
    """Working data kept out of git: embedded database, snapshots, feeds, inboxes."""
    path = Path(os.environ.get("SHOPSYNC_LOCAL_DIR", project_root() / ".local"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def shops_dir() -> Path:
    return Path(os.environ.get("SHOPSYNC_SHOPS_DIR", include_dir() / "shops"))


def photos_dir() -> Path:
    """Root of the accounting database's original photo files (photos.original_path is relative to it)."""
    return Path(os.environ.get("SHOPSYNC_PHOTOS_DIR", local_dir() / "photos"))
