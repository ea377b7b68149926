"""What a feed set is, and what both kinds of destination share: set ids, destination keys, the manifest's
name and reading, the mark of temporary names."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shopsync.transport.base import OutgoingFile, PutResult, file_digest

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PART_MARK = ".part-"


@dataclass(frozen=True)
class FeedSet:
    set_id: str
    photos: Sequence[OutgoingFile]      # remote names photos/<size>/<name>
    feeds: Sequence[OutgoingFile]
    manifest: OutgoingFile


def new_set_id() -> str:
    """Sortable by time: <UTC time to the microsecond>-<random>."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def identity_key(identity: dict[str, Any]) -> str:
    """A short stable name for a destination (kind, host, port, path): moving it gives another key."""
    text = json.dumps(identity, sort_keys=True)
    return f"{identity['kind']}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def parse_manifest(data: bytes | None, where: str) -> dict | None:
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        log.warning("%s: manifest.json is not JSON; treated as absent", where)
        return None
    return manifest if isinstance(manifest, dict) else None


def put_results(files: Sequence[OutgoingFile]) -> list[PutResult]:
    return [PutResult(f.remote_name, *file_digest(f.local_path), attempts=1) for f in files]


class SetDestination(Protocol):
    """A destination sets are published to (LocalSets, RemoteSets)."""
    identity: dict[str, Any]
    description: str

    def published_manifest(self) -> dict | None: ...
    def known_photos(self, names: set[str]) -> set[str] | None:
        """The photos (names under photos/) the destination has; None when only the workspace remembers."""
    def recover(self) -> list[str]:
        """Finish or roll back what an interrupted publish left; says what was done."""
    def put_photos(self, photos: Sequence[OutgoingFile]) -> None: ...
    def publish(self, feed_set: FeedSet) -> list[PutResult]: ...
    def close(self) -> None: ...
