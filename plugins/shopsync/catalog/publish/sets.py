"""Publishing a shop's whole feed set all or nothing: photos, feeds, then manifest.json.

Local destination (LocalSets): the configured path P is a symlink to `<P>.sets/<set id>/`, a complete set
(feeds and manifest.json as hard links to the run's files, and `photos` -> `../photos`). A publish builds
`<P>.sets/.building-<id>/`, renames it to `<P>.sets/<id>/` and switches P by renaming a new symlink over it:
a reader opening files through P sees the old set or the new one, never a mix. Photos live beside the sets in
`<P>.sets/photos/<size>/<checksum>.<ext>`: their names are content addressed (a name never changes its
bytes), so that directory only grows and every set shares it. The sets replaced in the last
SHOPSYNC_KEEP_SETS_SECONDS (default 900) and the two before the current one stay for readers still reading.
A plain directory at P (before this layout) becomes the first set once, on the next publish.

Remote destinations (RemoteSets: FTP, SFTP, HTTP): every file is uploaded under a temporary name
(`.<name>.part-<set id>` beside its final name), then each is renamed into place, photos first and
manifest.json last. Before the first byte is sent a journal in the shop's workspace lists every temporary
and final name; the next publish reads it before anything else: a publish killed while uploading is rolled
back (its temporary files removed), one killed while renaming is finished (the remaining renames done).
Readers can see new feeds before the new manifest during the renames (milliseconds per file); the manifest
names each file's size and sha256. HTTP needs an endpoint that accepts PUT, MOVE (RFC 4918, with
`Destination` and `Overwrite: T`) and DELETE.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shopsync.core import config
from shopsync.transport.base import (
    FileStore,
    OutgoingFile,
    PublishError,
    PutResult,
    RetryPolicy,
    T,
    check_relative_path,
    file_digest,
    with_retries,
)
from shopsync.transport.local import fsync_path
from shopsync.transport.open import destination_identity, open_destination, open_file_store, resolve_local_path

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PART_MARK = ".part-"
KEEP_PREVIOUS_SETS = 2


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


def temp_name(remote_name: str, set_id: str) -> str:
    directory, name = posixpath.split(remote_name)
    return posixpath.join(directory, f".{name}{PART_MARK}{set_id}")


def _parse_manifest(data: bytes | None, where: str) -> dict | None:
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        log.warning("%s: manifest.json is not JSON; treated as absent", where)
        return None
    return manifest if isinstance(manifest, dict) else None


def _results(files: Sequence[OutgoingFile]) -> list[PutResult]:
    return [PutResult(f.remote_name, *file_digest(f.local_path), attempts=1) for f in files]


# --- local ---------------------------------------------------------------------------------------

class LocalSets:
    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path))
        self.sets = self.path.with_name(self.path.name + ".sets")
        self.photos = self.sets / "photos"
        self.identity = {"kind": "local", "host": "", "port": 0, "path": str(self.path)}
        self.description = f"local {self.path}"
        self.grace_seconds = float(os.environ.get("SHOPSYNC_KEEP_SETS_SECONDS", "900"))

    def close(self) -> None:
        pass

    def current_set(self) -> str | None:
        if not self.path.is_symlink():
            return None
        target = Path(os.readlink(self.path))
        return target.name if target.parent.name == self.sets.name else None

    def published_manifest(self) -> dict | None:
        try:
            return _parse_manifest((self.path / MANIFEST).read_bytes(), self.description)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def known_photos(self, names: set[str]) -> set[str]:
        """The photos (names under photos/) the destination has."""
        return {name for name in names if (self.photos / name).is_file()}

    def recover(self) -> list[str]:
        """Move a plain directory at the path into the set layout; remove what killed publishes left."""
        with self._clear_errors("recover"):
            return self._recover()

    def publish(self, feed_set: FeedSet) -> list[PutResult]:
        with self._clear_errors(f"publish set {feed_set.set_id}"):
            self.put_photos(feed_set.photos)
            final = self._build(feed_set)
            self._switch_to(final)
            self._prune(final.name)
        return _results([*feed_set.feeds, feed_set.manifest])

    @contextmanager
    def _clear_errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise PublishError(f"{what} on {self.description}: {exc.strerror or exc} ({exc.filename}); the "
                               f"directory above the path must be writable, on one file system with it") from None

    def _recover(self) -> list[str]:
        done: list[str] = []
        if self.path.exists() and not self.path.is_symlink():
            done.append(self._adopt_plain_directory())
        if not self.sets.is_dir():
            return done
        current = self.current_set()
        for entry in os.scandir(self.sets):
            unused = current is None and not self.path.is_symlink() or current is not None and entry.name > current
            if entry.name.startswith((".building-", ".next-")) or (_is_set_name(entry.name) and unused):
                _remove(Path(entry.path))
                done.append(f"removed {entry.name} (left by an interrupted publish)")
        done.extend(self._remove_partial_photos())
        return done

    def _build(self, feed_set: FeedSet) -> Path:
        building = self.sets / f".building-{feed_set.set_id}"
        building.mkdir()
        for file in [*feed_set.feeds, feed_set.manifest]:
            target = building / check_relative_path(file.remote_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(file.local_path, target)
            fsync_path(target)
        (building / "photos").symlink_to("../photos")
        fsync_path(building)
        final = self.sets / feed_set.set_id
        os.rename(building, final)
        fsync_path(self.sets)
        return final

    def _switch_to(self, final: Path) -> None:
        link = self.sets / f".next-{final.name}"
        link.symlink_to(os.path.relpath(final, self.path.parent))
        os.replace(link, self.path)            # atomic: readers resolve the old set or the new one
        fsync_path(self.path.parent)
        log.info("published set %s to %s", final.name, self.description)

    def put_photos(self, photos: Sequence[OutgoingFile]) -> None:
        """Into the shared photos directory, each by a hard link under its final (content addressed) name."""
        if self.path.exists() and not self.path.is_symlink():
            self._adopt_plain_directory()
        self.sets.mkdir(parents=True, exist_ok=True)
        touched: set[Path] = set()
        for file in photos:
            name = check_relative_path(file.remote_name).removeprefix("photos/")
            target = self.photos / name
            if target.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(file.local_path, target)
            touched.add(target.parent)
        for directory in sorted(touched):
            fsync_path(directory)

    def _adopt_plain_directory(self) -> str:
        """The path is a plain directory (published before sets existed): it becomes the first set. For a
        moment (two renames) the path does not exist; this happens once."""
        self.sets.mkdir(parents=True, exist_ok=True)
        set_id = new_set_id()
        if (self.path / "photos").is_dir() and not self.photos.exists():
            os.rename(self.path / "photos", self.photos)
        os.rename(self.path, self.sets / set_id)
        adopted = self.sets / set_id
        for leftover in adopted.glob(f".*{PART_MARK}*"):       # temporary files of the per-file publishes before
            leftover.unlink()
        if not (adopted / "photos").exists():
            (adopted / "photos").symlink_to("../photos")
        self._switch_to(adopted)
        return f"moved the plain directory {self.path} to {adopted} and made {self.path} a link to it"

    def _remove_partial_photos(self) -> list[str]:
        removed = []
        if self.photos.is_dir():
            for size in os.scandir(self.photos):
                if not size.is_dir():
                    continue
                for entry in os.scandir(size.path):
                    if entry.name.startswith("."):
                        os.unlink(entry.path)
                        removed.append(f"removed photos/{size.name}/{entry.name}")
        return removed

    def _prune(self, current: str) -> None:
        """Sets before the current one go once they were replaced more than grace_seconds ago and at least
        KEEP_PREVIOUS_SETS newer ones are kept."""
        names = sorted(name for name in os.listdir(self.sets) if _is_set_name(name) and name <= current)
        now = time.time()
        for index, name in enumerate(names[:-1 - KEEP_PREVIOUS_SETS]):
            replaced_at = os.lstat(self.sets / names[index + 1]).st_mtime
            if now - replaced_at > self.grace_seconds:
                _remove(self.sets / name)


def _is_set_name(name: str) -> bool:
    return not name.startswith(".") and name != "photos"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the run's files are never written again); a copy through a temporary name when the
    destination is on another file system."""
    try:
        os.link(source, target)
        return
    except FileExistsError:
        target.unlink()
        os.link(source, target)
        return
    except OSError:
        pass
    temp = target.with_name(f".{target.name}{PART_MARK}{secrets.token_hex(4)}")
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- remote --------------------------------------------------------------------------------------

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
        return _parse_manifest(self.transport.get(MANIFEST), self.description)

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
        return _results([*feed_set.feeds, feed_set.manifest])

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


def open_set_destination(settings: config.Destination, base_dir: Path, workspace_root: Path,
                         retry: RetryPolicy | None = None) -> Any:
    """Where a shop's feed sets go, all or nothing (sets.py): LocalSets or RemoteSets with its journal."""
    if settings.kind == "local":
        return LocalSets(resolve_local_path(settings.path, base_dir))
    identity = destination_identity(settings, base_dir)
    journal = workspace_root / f"publish-journal.{identity_key(identity)}.json"
    if settings.kind == "http":
        destination = open_destination(settings, base_dir, retry)
        return RemoteSets(destination, identity, journal)
    store = open_file_store(settings.kind, settings.path, settings.conn_id, base_dir)
    return RemoteSets(StoreTransport(store, retry), identity, journal)
