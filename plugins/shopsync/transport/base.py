"""What publishing and the orders inbox share: file stores (local, FTP, SFTP), retries, atomic writes.

A *file store* is a directory tree on some transport, addressed by POSIX paths relative to its root.
Publishing to local/FTP/SFTP and reading an orders inbox are both written once against it; each
transport module (local.py, ftp.py, sftp.py) only says how to connect, list, read, write and rename.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import posixpath
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from shopsync.core.errors import ShopsyncError
from shopsync.transport.connections import scrub

log = logging.getLogger(__name__)

T = TypeVar("T")
HASH_CHUNK = 1024 * 1024


class PublishError(ShopsyncError):
    """A file could not be published (after retries); the previous published file is left as it was."""


class UnsuitableFile(Exception):
    """This one file cannot be read as asked (too large, not a regular file): trying again cannot help, and
    it says nothing about the connection (the caller deals with the file, the store is fine)."""

    retryable = False


class NotRegularFile(UnsuitableFile):
    """A symlink, FIFO, socket, device or directory where a regular file was expected: never opened or followed."""


class FileTooLarge(UnsuitableFile):
    """A file is larger than the reader's limit: it was not read (or the read stopped at the limit)."""

    def __init__(self, path: str, size: int | None, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        shown = f"{size / 2**20:.1f} MB" if size is not None else "more than the limit"
        super().__init__(f"{path}: the file is too large ({shown}; the limit is {limit / 2**20:.0f} MB)")


class PermanentTransferError(Exception):
    """Trying again cannot help (login refused, unknown host key): fail at once, and do not lock the account."""

    retryable = False


@dataclass(frozen=True)
class OutgoingFile:
    local_path: Path
    remote_name: str            # relative, "/"-separated; may contain subdirectories ("photos/catalog/12_0.jpg")


@dataclass(frozen=True)
class PutResult:
    remote_name: str
    size: int
    sha256: str
    attempts: int


class Destination(Protocol):
    def put(self, files: Sequence[OutgoingFile]) -> list[PutResult]: ...
    def get(self, remote_name: str) -> bytes | None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """attempts in all (the first try included); waits first_delay, then first_delay*backoff, ..."""

    attempts: int = 4
    first_delay: float = 0.5
    backoff: float = 2.0
    max_delay: float = 30.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2, 3, ...)."""
        return min(self.first_delay * self.backoff ** (attempt - 2), self.max_delay)


@dataclass(frozen=True)
class RemoteEntry:
    name: str
    is_file: bool               # a regular file (never a symlink, FIFO, socket or device)
    size: int
    mtime: float                # seconds since the epoch (UTC)
    is_dir: bool = False


class FileStore(Protocol):
    """A directory tree on one transport; paths are relative to its root, "/"-separated."""

    description: str            # for logs and messages: transport, host, root (never a secret)
    secrets: list[str]          # values to scrub from library error text

    def write_atomic(self, path: str, source: BinaryIO) -> None:
        """Write under a temporary name in the same directory, then rename into place (replacing)."""

    def write_plain(self, path: str, source: BinaryIO) -> None:
        """Write (replacing) under this very name, not atomic: for temporary names that are renamed later."""

    def replace(self, source: str, target: str) -> None:
        """Rename source onto target, replacing it (atomic where the transport allows)."""

    def read(self, path: str, max_bytes: int | None = None) -> bytes | None:
        """The file's bytes (None when it does not exist). With max_bytes (the orders inbox): FileTooLarge when
        it holds more (its size is checked before reading, and the read stops at the limit should it grow
        meanwhile), NotRegularFile for a symlink, FIFO or device where the transport can tell."""

    def list_dir(self, path: str) -> list[RemoteEntry]: ...
    def exists(self, path: str) -> bool: ...
    def make_dirs(self, path: str) -> None: ...

    def move(self, source: str, target: str) -> None:
        """Rename without replacing: FileExistsError when target exists."""

    def remove(self, path: str) -> None: ...

    def reset(self) -> None:
        """Forget the connection after an error; the next call connects again."""

    def close(self) -> None: ...


def temp_path_for(path: str) -> str:
    """A hidden, unique name beside `path`: readers and the inbox skip dotfiles and *.part names."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.part-{secrets.token_hex(4)}")


def directory_chain(path: str) -> list[str]:
    """"a/b/c" -> ["a", "a/b", "a/b/c"]; "/a/b" -> ["/a", "/a/b"]: the directories to create, outermost first."""
    parts = path.split("/")
    return [prefix for end in range(1, len(parts) + 1) if (prefix := "/".join(parts[:end])) not in ("", "/")]


def check_relative_path(path: str, error_class: type[ShopsyncError] = PublishError) -> str:
    """Reject names that would escape the store's root (absolute, "..", empty parts)."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(part in ("", ".", "..") for part in parts):
        raise error_class(f"{path!r}: expected a relative name like 'feed.csv' or 'photos/catalog/1_0.jpg'")
    return path


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a local file, read in chunks (feeds and photo sets can be large).

    Remembered per (file, size, modification time): publishing asks for each file twice (manifest, upload).
    """
    stat = os.stat(path)
    return _digest(os.fspath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _digest(path: str, device: int, inode: int, size: int, mtime_ns: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    read = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
            read += len(chunk)
    return read, digest.hexdigest()


def is_retryable(exc: BaseException) -> bool:
    return getattr(exc, "retryable", True)


def with_retries(
    action: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    store_reset: Callable[[], None],
    error_class: type[ShopsyncError],
    secrets_to_hide: Sequence[str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """Run `action` until it succeeds or the attempts run out; returns (result, attempts used).

    Between attempts the connection is dropped (store_reset) so the next attempt starts clean.
    """
    attempt = 1
    while True:
        try:
            return action(), attempt
        except (ShopsyncError, UnsuitableFile):
            raise
        except Exception as exc:  # transports raise OSError, ftplib/paramiko/requests errors, EOFError
            reason = scrub(f"{type(exc).__name__}: {exc}", list(secrets_to_hide))
            store_reset()
            if attempt >= policy.attempts or not is_retryable(exc):
                raise error_class(f"{what}: failed after {attempt} attempt(s): {reason}") from None
            delay = policy.delay_before(attempt + 1)
            log.warning("%s: attempt %d failed (%s); retrying in %.1f s", what, attempt, reason, delay)
            sleep(delay)
            attempt += 1


class RemoteDirectoryStore:
    """What the FTP and SFTP stores share: paths under a root directory, directories made once, moves that
    never replace an existing file. Subclasses give `_client()` (with `rename`) and `_make_dir(full_path)`."""

    root: str
    _known_dirs: set[str]

    def _client(self) -> Any:
        raise NotImplementedError

    def _make_dir(self, full: str) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def _full(self, path: str) -> str:
        return posixpath.join(self.root, path) if path else self.root

    def make_dirs(self, path: str) -> None:
        for directory in directory_chain(self._full(path)):
            if directory not in self._known_dirs:
                self._make_dir(directory)
                self._known_dirs.add(directory)

    def move(self, source: str, target: str) -> None:
        # FTP's RNTO replaces on most servers, SFTP's rename refuses on most: an inbox move must never replace.
        if self.exists(target):
            raise FileExistsError(target)
        self._client().rename(self._full(source), self._full(target))


class FileStoreDestination:
    """Publishes to a local, FTP or SFTP directory: each file atomically, retried, subdirectories created."""

    def __init__(self, store: FileStore, retry: RetryPolicy | None = None) -> None:
        self.store = store
        self.retry = retry or RetryPolicy()

    def put(self, files: Sequence[OutgoingFile]) -> list[PutResult]:
        """Every file, each atomically; when put returns they are all durable (a store that can batches their
        syncs), so what is put next (the manifest) never lands before them."""
        batch = getattr(self.store, "batch", None)
        with batch() if batch is not None else contextlib.nullcontext():
            return [self._put_one(file) for file in files]

    def get(self, remote_name: str) -> bytes | None:
        check_relative_path(remote_name)
        content, _ = self._retrying(lambda: self.store.read(remote_name), f"read {remote_name}")
        return content

    def close(self) -> None:
        self.store.close()

    def _put_one(self, file: OutgoingFile) -> PutResult:
        remote_name = check_relative_path(file.remote_name)
        size, sha256 = file_digest(file.local_path)

        def upload() -> None:
            self.store.make_dirs(posixpath.dirname(remote_name))  # "" makes sure the root itself exists
            with file.local_path.open("rb") as source:
                self.store.write_atomic(remote_name, source)

        _, attempts = self._retrying(upload, f"publish {remote_name}")
        log.info("published %s (%d bytes) to %s", remote_name, size, self.store.description)
        return PutResult(remote_name=remote_name, size=size, sha256=sha256, attempts=attempts)

    def _retrying(self, action: Callable[[], T], what: str) -> tuple[T, int]:
        return with_retries(
            action,
            policy=self.retry,
            what=f"{what} on {self.store.description}",
            store_reset=self.store.reset,
            error_class=PublishError,
            secrets_to_hide=self.store.secrets,
        )
