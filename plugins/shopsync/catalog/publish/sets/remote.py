"""Feed sets on remote destinations (RemoteSets: FTP, SFTP, HTTP): every file is uploaded under a temporary name
(`.<name>.part-<set id>` beside its final name), then each is renamed into place, photos first and
manifest.json last. Before the first byte is sent a journal in the shop's workspace lists every temporary
and final name; the next publish reads it before anything else: a publish killed while uploading is rolled
back (its temporary files removed), one killed while renaming is finished (the remaining renames done).
Readers can see new feeds before the new manifest during the renames (milliseconds per file); the manifest
names each file's size and sha256. HTTP needs an endpoint that accepts PUT, MOVE (RFC 4918, with
`Destination` and `Overwrite: T`) and DELETE.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from shopsync.catalog.publish.sets.base import (
    MANIFEST,
    PART_MARK,
    FeedSet,
    new_set_id,
    parse_manifest,
    put_results,
)
from shopsync.transport.base import (
    FileStore,
    OutgoingFile,
    PublishError,
    PutResult,
    RetryPolicy,
    T,
    check_relative_path,
    with_retries,
)

log = logging.getLogger(__name__)


def temp_name(remote_name: str, set_id: str) -> str:
    directory, name = posixpath.split(remote_name)
    return posixpath.join(directory, f".{name}{PART_MARK}{set_id}")


class Transport(Protocol):
    description: str

    def upload(self, local_path: Path, remote_name: str) -> None: ...
    def rename(self, source: str, target: str) -> None:
        """Replace target by source; done already (source gone, target there) counts as done."""
    def remove(self, remote_name: str) -> None:
        """Missing counts as removed."""
    def get(self, remote_name: str) -> bytes | None: ...
    def exists(self, remote_name: str) -> bool: ...
    def leftovers(self) -> list[str]:
        """Temporary names in the root directory (left by older versions or lost journals)."""
    def close(self) -> None: ...


class RemoteSets:
    def __init__(self, transport: Transport, identity: dict[str, Any], journal: Path) -> None:
        self.transport = transport
        self.identity = identity
        self.journal = journal
        self.description = transport.description

    def close(self) -> None:
        self.transport.close()

    def published_manifest(self) -> dict | None:
        return parse_manifest(self.transport.get(MANIFEST), self.description)

    def known_photos(self, names: set[str]) -> set[str] | None:
        return None                          # remembered in the workspace, per destination (publish/run.py)

    def recover(self) -> list[str]:
        """Finish (renames begun) or roll back (uploads begun) the publish the journal describes."""
        from shopsync.catalog.workspace import read_json

        done = []
        journal = read_json(self.journal)
        if journal is not None:
            pairs = [(final, temp) for final, temp in journal["files"]]
            if journal["phase"] == "rename":
                for final, temp in pairs:
                    if self.transport.exists(temp):     # gone: renamed before the kill (or removed by hand)
                        self.transport.rename(temp, final)
                done.append(f"finished the interrupted publish of set {journal['set']} ({len(pairs)} files)")
            else:
                for _, temp in pairs:
                    self.transport.remove(temp)
                done.append(f"rolled back the interrupted publish of set {journal['set']} ({len(pairs)} files)")
            self.journal.unlink()
        for name in self.transport.leftovers():
            self.transport.remove(name)
            done.append(f"removed {name}")
        return done

    def publish(self, feed_set: FeedSet) -> list[PutResult]:
        self._send(feed_set.set_id, [*feed_set.photos, *feed_set.feeds, feed_set.manifest])
        return put_results([*feed_set.feeds, feed_set.manifest])

    def put_photos(self, photos: Sequence[OutgoingFile]) -> None:
        self._send(new_set_id(), photos)

    def _send(self, set_id: str, files: Sequence[OutgoingFile]) -> None:
        """Upload every file under its temporary name, then rename each into place in order (the manifest,
        last in `files`, last); the journal says which phase an interrupted publish was in."""
        from shopsync.catalog.workspace import write_json

        pairs = [(file, temp_name(check_relative_path(file.remote_name), set_id)) for file in files]
        journal = {"set": set_id, "destination": self.identity, "phase": "upload",
                   "files": [[file.remote_name, temp] for file, temp in pairs]}
        write_json(self.journal, journal)
        for file, temp in pairs:
            self.transport.upload(file.local_path, temp)
        write_json(self.journal, {**journal, "phase": "rename"})
        for file, temp in pairs:
            self.transport.rename(temp, file.remote_name)
        self.journal.unlink()
        log.info("published set %s (%d files) to %s", set_id, len(files), self.description)


class StoreTransport:
    """An FTP or SFTP file store, each operation retried (reconnecting in between)."""

    def __init__(self, store: FileStore, retry: RetryPolicy | None = None) -> None:
        self.store = store
        self.retry = retry or RetryPolicy()
        self.description = store.description

    def upload(self, local_path: Path, remote_name: str) -> None:
        def action() -> None:
            self.store.make_dirs(posixpath.dirname(remote_name))
            with local_path.open("rb") as source:
                self.store.write_plain(remote_name, source)

        self._retrying(action, f"upload {remote_name}")

    def rename(self, source: str, target: str) -> None:
        def action() -> None:
            try:
                self.store.replace(source, target)
            except Exception:
                if not self.store.exists(source) and self.store.exists(target):
                    return                      # renamed before the connection broke, or by an earlier run
                raise

        self._retrying(action, f"rename {source} to {target}")

    def remove(self, remote_name: str) -> None:
        def action() -> None:
            try:
                self.store.remove(remote_name)
            except Exception:
                if self.store.exists(remote_name):
                    raise

        self._retrying(action, f"remove {remote_name}")

    def get(self, remote_name: str) -> bytes | None:
        return self._retrying(lambda: self.store.read(remote_name), f"read {remote_name}")

    def exists(self, remote_name: str) -> bool:
        return self._retrying(lambda: self.store.exists(remote_name), f"look for {remote_name}")

    def leftovers(self) -> list[str]:
        def action() -> list[str]:
            try:
                entries = self.store.list_dir("")
            except FileNotFoundError:
                return []
            return [entry.name for entry in entries if entry.is_file and PART_MARK in entry.name
                    and entry.name.startswith(".")]

        return self._retrying(action, "list")

    def close(self) -> None:
        self.store.close()

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        result, _ = with_retries(action, policy=self.retry, what=f"{what} on {self.store.description}",
                                 store_reset=self.store.reset, error_class=PublishError,
                                 secrets_to_hide=self.store.secrets)
        return result
