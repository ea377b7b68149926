"""The manifest of a published set: what was published, for which data interval, with sizes and checksums.

It is published LAST (catalog/publish/sets/), so a manifest on the destination means the whole set before it is
complete; a reader compares each file's sha256 with it. The export adds the set's id, the run and the
database position its data was read at (`database_position`, per data set: catalog/position.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shopsync.transport.base import Destination, OutgoingFile, PutResult, file_digest

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ManifestEntry:
    name: str                   # the published (remote) name
    path: Path                  # the local file that was published
    rows: int | None = None     # data rows in a feed; None for files without rows (photos)


def build_manifest(
    files: list[ManifestEntry], data_interval: tuple[datetime, datetime], published_at: datetime,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`extra`: what the export adds (set id, run, database_position: see catalog/position.py)."""
    start, end = data_interval
    return {
        "version": MANIFEST_VERSION,
        "data_interval": {"start": start.isoformat(), "end": end.isoformat()},
        "published_at": published_at.isoformat(),
        "files": [_describe(entry) for entry in sorted(files, key=lambda entry: entry.name)],
        **(extra or {}),
    }


def write_manifest(manifest: dict[str, Any], path: Path) -> Path:
    text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    path.unlink(missing_ok=True)        # a new file: the published manifest may be a hard link to this one
    path.write_text(text, encoding="utf-8")
    return path


def publish_with_manifest(
    destination: Destination, files: Sequence[OutgoingFile], manifest: OutgoingFile
) -> list[PutResult]:
    """Publish the files, then the manifest: if any file fails, the old manifest stays (PublishError)."""
    results = destination.put(files)
    return results + destination.put([manifest])


def _describe(entry: ManifestEntry) -> dict[str, Any]:
    size, sha256 = file_digest(entry.path)
    return {"name": entry.name, "size": size, "sha256": sha256, "rows": entry.rows}
