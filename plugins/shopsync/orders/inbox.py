"""The orders inbox: a local, FTP or SFTP directory where shops drop order files.

A file is taken only once it has settled: it is older than settle_seconds and its size and mtime did
not change between two listings a moment apart. Processed files move to archive/, rejected ones to
quarantine/ with <name>.error.json beside them; a move never replaces a file already there (the new
one gets the time of the move in its name). Transports, connections and retries are the publishing ones
(shopsync.publish.base).

One inbox has one reader (the shop's orders DAG); a second reader could race for the same file.
"""

from __future__ import annotations

import io
import json
import logging
import posixpath
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from shopsync import config
from shopsync.errors import ShopsyncError
from shopsync.publish.base import FileStore, RemoteEntry, RetryPolicy, open_file_store, with_retries

log = logging.getLogger(__name__)

T = TypeVar("T")
ARCHIVE_DIR = "archive"
QUARANTINE_DIR = "quarantine"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp")
DEFAULT_SETTLE_CHECK_SECONDS = 0.5
MAX_NAME_TRIES = 100


class InboxError(ShopsyncError):
    """The inbox could not be listed, read or tidied (after retries)."""


@dataclass(frozen=True)
class InboxFile:
    name: str
    size: int
    mtime: datetime             # UTC, as the server reports it


def is_candidate(entry: RemoteEntry) -> bool:
    """A plain file that is not hidden and not named like a file still being written."""
    name = entry.name.lower()
    return entry.is_file and not name.startswith((".", "~")) and not name.endswith(TEMPORARY_SUFFIXES)


def free_name_candidates(name: str, moment: datetime) -> Iterator[str]:
    """orders.json, then orders.20260301T100000Z.json, orders.20260301T100000Z-2.json, ...

    Shops often upload the same name every time, so the suffix is the move's time (one check, not a count
    through all earlier ones); the extension stays last so the format is still recognised.
    """
    yield name
    stem, suffix = posixpath.splitext(name)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    yield f"{stem}.{stamp}{suffix}"
    for number in range(2, MAX_NAME_TRIES):
        yield f"{stem}.{stamp}-{number}{suffix}"


class Inbox:
    def __init__(
        self,
        store: FileStore,
        settle_seconds: float,
        *,
        settle_check_seconds: float = DEFAULT_SETTLE_CHECK_SECONDS,
        retry: RetryPolicy | None = None,
        wait_between_looks: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settle_seconds = settle_seconds
        self.settle_check_seconds = settle_check_seconds
        self.retry = retry or RetryPolicy()
        self.wait_between_looks = wait_between_looks

    @property
    def description(self) -> str:
        return self.store.description

    def list_ready(self, now: datetime | None = None) -> list[InboxFile]:
        """Files that are complete, oldest first; the others are left for the next run."""
        first_look = self._candidates()
        if not first_look:
            return []
        self.wait_between_looks(self.settle_check_seconds)
        second_look = {entry.name: entry for entry in self._candidates()}
        moment = (now or datetime.now(UTC)).timestamp()
        ready = []
        for entry in first_look:
            again = second_look.get(entry.name)
            if again is None or (again.size, again.mtime) != (entry.size, entry.mtime):
                log.info("%s: %s is still changing; left for the next run", self.description, entry.name)
            elif moment - again.mtime < self.settle_seconds:
                log.info("%s: %s is younger than %s s; left for the next run",
                         self.description, entry.name, self.settle_seconds)
            else:
                ready.append(InboxFile(again.name, again.size, datetime.fromtimestamp(again.mtime, UTC)))
        return sorted(ready, key=lambda file: (file.mtime, file.name))

    def read(self, name: str) -> bytes:
        _check_name(name)
        content = self._retrying(lambda: self.store.read(name), f"read {name}")
        if content is None:
            raise InboxError(f"{self.description}: {name} is no longer in the inbox")
        return content

    def archive(self, name: str) -> str:
        """Move a processed file to archive/; returns its path there (relative to the inbox)."""
        _check_name(name)
        attempted: list[str] = []
        return self._retrying(lambda: self._move_into(ARCHIVE_DIR, name, attempted), f"archive {name}")

    def quarantine(self, name: str, error_report: dict[str, Any]) -> str:
        """Move a rejected file to quarantine/ and write quarantine/<name>.error.json beside it."""
        _check_name(name)
        attempted: list[str] = []
        moved = self._retrying(
            lambda: self._move_into(QUARANTINE_DIR, name, attempted, ".error.json"), f"quarantine {name}"
        )
        report = json.dumps(error_report, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
        self._retrying(
            lambda: self.store.write_atomic(moved + ".error.json", io.BytesIO(report.encode("utf-8"))),
            f"write {moved}.error.json",
        )
        return moved

    def close(self) -> None:
        self.store.close()

    def _candidates(self) -> list[RemoteEntry]:
        def listing() -> list[RemoteEntry]:
            try:
                return self.store.list_dir("")
            except FileNotFoundError:
                log.warning("%s: the inbox directory does not exist (yet)", self.description)
                return []

        return [entry for entry in self._retrying(listing, "list") if is_candidate(entry)]

    def _move_into(self, directory: str, name: str, attempted: list[str], companion_suffix: str = "") -> str:
        """Move `name` into `directory` under the first free name (its companion file's name free too).

        `attempted` survives retries: a rename that succeeded but whose reply was lost is found there.
        """
        if not self.store.exists(name):
            if attempted and self.store.exists(attempted[-1]):
                return attempted[-1]
            raise InboxError(f"{self.description}: {name} is no longer in the inbox")
        self.store.make_dirs(directory)
        for candidate in free_name_candidates(name, datetime.now(UTC)):
            target = posixpath.join(directory, candidate)
            if self.store.exists(target) or (companion_suffix and self.store.exists(target + companion_suffix)):
                continue
            attempted.append(target)
            try:
                self.store.move(name, target)
            except FileExistsError:
                attempted.pop()
                continue
            log.info("%s: moved %s to %s", self.description, name, target)
            return target
        raise InboxError(f"{self.description}: no free name for {name} in {directory}/")

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        result, _ = with_retries(
            action,
            policy=self.retry,
            what=f"{what} in {self.description}",
            store_reset=self.store.reset,
            error_class=InboxError,
            secrets_to_hide=self.store.secrets,
        )
        return result


def _check_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InboxError(f"{name!r}: not an inbox file name")


def open_inbox(
    settings: config.OrdersInbox,
    base_dir: Path,
    *,
    settle_check_seconds: float = DEFAULT_SETTLE_CHECK_SECONDS,
    retry: RetryPolicy | None = None,
    wait_between_looks: Callable[[float], None] = time.sleep,
) -> Inbox:
    """The shop's orders inbox; a relative local path is resolved against base_dir."""
    store = open_file_store(settings.kind, settings.path, settings.conn_id, base_dir)
    return Inbox(
        store,
        settings.settle_seconds,
        settle_check_seconds=settle_check_seconds,
        retry=retry,
        wait_between_looks=wait_between_looks,
    )
