"""Feed sets on a local destination (LocalSets): the configured path P is a symlink to `<P>.sets/<set id>/`,
a complete set (feeds and manifest.json as hard links to the run's files, and `photos` -> `../photos`). A publish builds
`<P>.sets/.building-<id>/`, renames it to `<P>.sets/<id>/` and switches P by renaming a new symlink over it:
a reader opening files through P sees the old set or the new one, never a mix. Photos live beside the sets in
`<P>.sets/photos/<size>/<checksum>.<ext>`: their names are content addressed (a name never changes its
bytes), so that directory only grows and every set shares it. The sets replaced in the last
SHOPSYNC_KEEP_SETS_SECONDS (default 900) and the two before the current one stay for readers still reading.
A plain directory at P (before this layout) becomes the first set once, on the next publish.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shopsync.catalog.publish.sets.base import MANIFEST, PART_MARK, FeedSet, new_set_id, parse_manifest, put_results
from shopsync.transport.base import OutgoingFile, PublishError, PutResult, check_relative_path
from shopsync.transport.local import fsync_path

log = logging.getLogger(__name__)

KEEP_PREVIOUS_SETS = 2


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
            return parse_manifest((self.path / MANIFEST).read_bytes(), self.description)
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
        return put_results([*feed_set.feeds, feed_set.manifest])

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
