"""A directory on this machine (or a mounted share) as a file store."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shopsync.transport.base import FileTooLarge, NotRegularFile, RemoteEntry, temp_path_for

COPY_CHUNK = 1024 * 1024
# Opening never follows a symlink and never waits on a FIFO (read() refuses both after the open).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class LocalFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"local {root}"
        self.secrets: list[str] = []
        self._renamed_in: set[Path] = set()
        self._batching = False

    def write_atomic(self, path: str, source: BinaryIO) -> None:
        target = self._full(path)
        temp = self._full(temp_path_for(path))
        try:
            if not _link_same_file(source, temp):
                with temp.open("wb") as out:
                    shutil.copyfileobj(source, out, COPY_CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if self._batching:
            self._renamed_in.add(target.parent)
        else:
            fsync_path(target.parent)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Files written inside are made durable together at the end: one directory fsync per directory
        rather than per file (thousands of photos land in two directories)."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            for directory in sorted(self._renamed_in):
                fsync_path(directory)
            self._renamed_in.clear()

    def write_plain(self, path: str, source: BinaryIO) -> None:
        with self._full(path).open("wb") as out:
            shutil.copyfileobj(source, out, COPY_CHUNK)

    def replace(self, source: str, target: str) -> None:
        os.replace(self._full(source), self._full(target))

    def read(self, path: str, max_bytes: int | None = None) -> bytes | None:
        if max_bytes is None:                   # publishing reads back its own files
            try:
                return self._full(path).read_bytes()
            except FileNotFoundError:
                return None
        try:
            if not stat.S_ISREG(os.lstat(self._full(path)).st_mode):    # a FIFO is not even opened
                raise NotRegularFile(f"{path} is not a regular file (a symlink, FIFO, socket or device)")
            # checked again on what is opened: the name may have been replaced since
            descriptor = os.open(self._full(path), _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:              # O_NOFOLLOW met a symlink
                raise NotRegularFile(f"{path} is a symbolic link; it is not followed") from None
            raise
        with os.fdopen(descriptor, "rb") as stream:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise NotRegularFile(f"{path} is not a regular file")
            if status.st_size > max_bytes:
                raise FileTooLarge(path, status.st_size, max_bytes)
            data = stream.read(max_bytes + 1)       # the file may have grown since: never more than the limit
        if len(data) > max_bytes:
            raise FileTooLarge(path, None, max_bytes)
        return data

    def list_dir(self, path: str) -> list[RemoteEntry]:
        """The directory's entries as they are: a symlink is reported as what it is, never followed (lstat)."""
        entries = []
        with os.scandir(self._full(path)) as listing:
            for item in listing:
                status = item.stat(follow_symlinks=False)
                entries.append(RemoteEntry(item.name, stat.S_ISREG(status.st_mode), status.st_size,
                                           status.st_mtime, stat.S_ISDIR(status.st_mode)))
        return entries

    def exists(self, path: str) -> bool:
        return self._full(path).exists()

    def make_dirs(self, path: str) -> None:
        self._full(path).mkdir(parents=True, exist_ok=True)

    def move(self, source: str, target: str) -> None:
        # link + unlink never replaces an existing target (os.rename would, silently)
        os.link(self._full(source), self._full(target))
        os.unlink(self._full(source))

    def remove(self, path: str) -> None:
        self._full(path).unlink()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _full(self, path: str) -> Path:
        return self.root / path if path else self.root


def _link_same_file(source: BinaryIO, temp: Path) -> bool:
    """Publish a local file without copying it: a hard link to it under the temporary name (then renamed).

    The run's files are never written again once validated, so the published name can share them; a
    feed of hundreds of MB is then published in microseconds. False (copy instead) when the source is
    not a plain file or lives on another file system.
    """
    name = getattr(source, "name", None)
    if not isinstance(name, str) or not os.path.isfile(name):
        return False
    temp.unlink(missing_ok=True)
    try:
        os.link(name, temp)
    except OSError:
        return False
    descriptor = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return True


def fsync_path(path: Path) -> None:
    """Make a file's bytes, or a directory's renames, durable (a crash right after publishing keeps them);
    best effort: a file system that cannot fsync a directory is left as it is."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
