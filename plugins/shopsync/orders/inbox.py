"""The orders inbox: a local, FTP or SFTP directory where shops drop order files.

A file is taken only once it has settled: it is older than settle_seconds, its size and mtime did
not change between two listings a moment apart, and (with a SettleLog, as the ingest uses) they did
not change since it was first seen with them at least settle_seconds ago. Only regular files are taken:
a symlink, FIFO, socket or device is skipped with a warning and never opened or followed. Processed files
move to archive/, rejected ones to quarantine/ with <name>.error.json beside them (the report is written
first, so a file in quarantine always has its report); a move never replaces a file already there (the
new one gets the time of the move in its name). Transports, connections and retries are the publishing ones
(shopsync.transport.base).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from shopsync.core import config
from shopsync.core.errors import ShopsyncError
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.transport.base import FileStore, RemoteEntry, RetryPolicy, with_retries
from shopsync.transport.open import open_file_store

log = logging.getLogger(__name__)

T = TypeVar("T")
ARCHIVE_DIR = "archive"
QUARANTINE_DIR = "quarantine"
REPORT_SUFFIX = ".error.json"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp")
MAX_NAME_TRIES = 100


class InboxError(ShopsyncError):
    """The inbox could not be listed, read or tidied (after retries)."""


class FileVanished(InboxError):
    """A listed file could not be found when it was read (removed meanwhile, or a name the server mangles)."""


class SettleLog(Protocol):
    """Remembers since when each file has had its size and mtime (kept between runs, e.g. in the database)."""

    def steady(self, entries: list[RemoteEntry], now: float, settle_seconds: float) -> set[str]:
        """Names whose (size, mtime) are the same as at least settle_seconds ago; records the others as of now."""


@dataclass(frozen=True)
class InboxFile:
    name: str
    size: int
    mtime: datetime             # UTC, as the server reports it


def printable_name(name: str) -> str:
    """A file name as text any report or database column can hold (bytes that are not UTF-8 as \\xNN)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
        tuning: Tuning = DEFAULT_TUNING,
        retry: RetryPolicy | None = None,
        wait_between_looks: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settle_seconds = settle_seconds
        self.settle_check_seconds = tuning.settle_check_seconds
        self.max_settle_wait_seconds = tuning.max_settle_wait_seconds
        self.retry = retry or RetryPolicy()
        self.wait_between_looks = wait_between_looks

    @property
    def description(self) -> str:
        return self.store.description

    def list_ready(self, now: datetime | None = None, settle_log: SettleLog | None = None) -> list[InboxFile]:
        """Files that are complete, oldest first; the others are left for the next run.

        With a settle_log, a file must also have kept its size and mtime for settle_seconds since it was
        first seen with them; when settle_seconds is short (up to tuning.max_settle_wait_seconds), the run waits
        that long once and looks again, so that new files are still taken in the run that first sees them.
        """
        first_look = self._candidates()
        if not first_look:
            if settle_log is not None:
                settle_log.steady([], (now or datetime.now(UTC)).timestamp(), self.settle_seconds)
            return []
        self.wait_between_looks(self.settle_check_seconds)
        second_look = {entry.name: entry for entry in self._candidates()}
        moment = (now or datetime.now(UTC)).timestamp()
        ready = self._unchanged_and_old(first_look, second_look, moment)
        if settle_log is not None:
            steady = settle_log.steady(list(second_look.values()), moment, self.settle_seconds)
            if any(entry.name not in steady for entry in ready) and self.settle_seconds <= self.max_settle_wait_seconds:
                self.wait_between_looks(self.settle_seconds)
                moment = (now + timedelta(seconds=self.settle_seconds) if now else datetime.now(UTC)).timestamp()
                third_look = {entry.name: entry for entry in self._candidates()}
                ready = self._unchanged_and_old(ready, third_look, moment)
                steady = settle_log.steady(list(third_look.values()), moment, self.settle_seconds)
            for entry in ready:
                if entry.name not in steady:
                    log.info("%s: %s has not kept its size and mtime for %s s yet; left for the next run",
                             self.description, printable_name(entry.name), self.settle_seconds)
            ready = [entry for entry in ready if entry.name in steady]
        files = [InboxFile(entry.name, entry.size, datetime.fromtimestamp(entry.mtime, UTC)) for entry in ready]
        return sorted(files, key=lambda file: (file.mtime, file.name))

    def _unchanged_and_old(self, before: list[RemoteEntry], now_seen: dict[str, RemoteEntry],
                           moment: float) -> list[RemoteEntry]:
        """The entries of `before` still there with the same size and mtime, and older than settle_seconds."""
        ready = []
        for entry in before:
            again = now_seen.get(entry.name)
            shown = printable_name(entry.name)
            if again is None or (again.size, again.mtime) != (entry.size, entry.mtime):
                log.info("%s: %s is still changing; left for the next run", self.description, shown)
            elif moment - again.mtime < self.settle_seconds:
                log.info("%s: %s is younger than %s s; left for the next run", self.description, shown,
                         self.settle_seconds)
            else:
                ready.append(again)
        return ready

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The file's bytes; FileTooLarge (shopsync.transport.base) when it is over max_bytes, NotRegularFile
        when it is no longer a regular file (both without retrying: they are about the file, not the server)."""
        _check_name(name)
        content = self._retrying(lambda: self.store.read(name, max_bytes), f"read {name}")
        if content is None:
            raise FileVanished(f"{self.description}: {printable_name(name)} is no longer in the inbox")
        return content

    def archive(self, name: str) -> str:
        """Move a processed file to archive/; returns its path there (relative to the inbox)."""
        _check_name(name)
        attempted: list[str] = []
        return self._retrying(lambda: self._move_into(ARCHIVE_DIR, name, attempted), f"archive {name}")

    def quarantine(self, name: str, error_report: dict[str, Any]) -> str:
        """Move a rejected file to quarantine/ with quarantine/<name>.error.json beside it.

        The report is written first, under the name the file will get, and then the file is moved: a run
        stopped in between leaves the file in the inbox (taken again next run, the orphan report is
        overwritten), never a quarantined file without its report.
        """
        _check_name(name)
        report = json.dumps(error_report, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
        encoded = report.encode("utf-8", "replace")

        def write_report(target: str) -> None:
            self.store.write_atomic(target + REPORT_SUFFIX, io.BytesIO(encoded))

        attempted: list[str] = []
        return self._retrying(
            lambda: self._move_into(QUARANTINE_DIR, name, attempted, REPORT_SUFFIX, before_move=write_report),
            f"quarantine {name}",
        )

    def quarantined_entries(self) -> dict[str, RemoteEntry]:
        """The files in quarantine/ (not their reports) by name; empty when there is no quarantine yet."""
        def listing() -> list[RemoteEntry]:
            try:
                return self.store.list_dir(QUARANTINE_DIR)
            except FileNotFoundError:
                return []

        return {entry.name: entry for entry in self._retrying(listing, "list quarantine")
                if not entry.name.endswith(REPORT_SUFFIX)}

    def take_back(self, quarantined_name: str) -> str:
        """Move quarantine/<name> back into the inbox (a free name there), then drop its report; returns the
        inbox name. The file is then an inbox file like any other: it waits until it has settled."""
        _check_name(quarantined_name)
        source = posixpath.join(QUARANTINE_DIR, quarantined_name)
        moved = self._retrying(lambda: self._move_back(source, quarantined_name), f"take back {quarantined_name}")
        self._retrying(lambda: self._remove_if_present(source + REPORT_SUFFIX), f"remove {source}{REPORT_SUFFIX}")
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

        entries = self._retrying(listing, "list")
        for entry in entries:
            if not entry.is_file and not entry.is_dir and not entry.name.startswith("."):
                log.warning("%s: %s is not a regular file (a symlink, FIFO, socket or device); skipped, "
                            "never opened or followed", self.description, printable_name(entry.name))
        return [entry for entry in entries if is_candidate(entry)]

    def _move_into(self, directory: str, name: str, attempted: list[str], companion_suffix: str = "",
                   before_move: Callable[[str], None] | None = None) -> str:
        """Move `name` into `directory` under the first free name, after `before_move(target)`.

        A name whose companion (the report) is there without its file is free: that report was left by a
        run stopped between writing it and moving its file, and is overwritten. `attempted` survives
        retries: a rename that succeeded but whose reply was lost is found there.
        """
        if not self.store.exists(name):
            if attempted and self.store.exists(attempted[-1]):
                return attempted[-1]
            raise InboxError(f"{self.description}: {name} is no longer in the inbox")
        self.store.make_dirs(directory)
        for candidate in free_name_candidates(name, datetime.now(UTC)):
            target = posixpath.join(directory, candidate)
            if self.store.exists(target):
                continue
            if before_move is not None:
                before_move(target)
            attempted.append(target)
            try:
                self.store.move(name, target)
            except FileExistsError:
                attempted.pop()
                continue
            log.info("%s: moved %s to %s", self.description, printable_name(name), printable_name(target))
            return target
        raise InboxError(f"{self.description}: no free name for {name} in {directory}/")

    def _move_back(self, source: str, name: str) -> str:
        if not self.store.exists(source):
            raise InboxError(f"{self.description}: {source} is gone")
        for candidate in free_name_candidates(name, datetime.now(UTC)):
            if self.store.exists(candidate):
                continue
            self.store.move(source, candidate)
            log.info("%s: moved %s back into the inbox as %s", self.description, printable_name(source),
                     printable_name(candidate))
            return candidate
        raise InboxError(f"{self.description}: no free name for {name} in the inbox")

    def _remove_if_present(self, path: str) -> None:
        if self.store.exists(path):
            self.store.remove(path)

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
    tuning: Tuning = DEFAULT_TUNING,
    retry: RetryPolicy | None = None,
    wait_between_looks: Callable[[float], None] = time.sleep,
) -> Inbox:
    """The shop's orders inbox; a relative local path is resolved against base_dir. The tuning's
    settle_check_seconds and max_settle_wait_seconds set how long a listing waits for files to settle."""
    store = open_file_store(settings.kind, settings.path, settings.conn_id, base_dir)
    return Inbox(
        store,
        settings.settle_seconds,
        tuning=tuning,
        retry=retry,
        wait_between_looks=wait_between_looks,
    )
