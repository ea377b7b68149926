"""An FTP directory as a file store (ftplib, the library the Airflow FTP provider wraps).

Connection: host, port (21), login, password; extras `passive` (default true), `encoding` (utf-8),
`timeout` (seconds, default 30). Paths are relative to the login's home unless the root is absolute.

Replacing a file: STOR under a hidden temporary name, then RNFR/RNTO onto the final name. Servers
that rename over an existing file (pyftpdlib, vsftpd, ProFTPD, Pure-FTPd on POSIX) make this atomic.
A server that refuses to rename onto an existing file gets delete-then-rename, which is NOT atomic
(a reader can briefly find no file); a warning is logged each time.
"""

from __future__ import annotations

import ftplib
import io
import logging
import posixpath
import sys
from datetime import UTC, datetime
from typing import BinaryIO

from shopsync.transport.base import (
    FileTooLarge,
    PermanentTransferError,
    RemoteDirectoryStore,
    RemoteEntry,
    temp_path_for,
)
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
BLOCK_SIZE = 256 * 1024


class _OddNamesFTP(ftplib.FTP):
    """ftplib with names that are not valid in the connection's encoding kept as surrogate escapes (as os
    file names are), both ways: one oddly named file neither breaks a listing nor is out of reach."""

    def connect(self, *args, **kwargs) -> str:  # type: ignore[override]
        welcome = super().connect(*args, **kwargs)
        plain, self.file = self.file, self.sock.makefile("r", encoding=self.encoding, errors="surrogateescape")
        plain.close()
        return welcome

    def putline(self, line: str) -> None:
        if "\r" in line or "\n" in line:
            raise ValueError("an illegal newline character should not be contained")
        sys.audit("ftplib.sendcmd", self, line)
        self.sock.sendall((line + ftplib.CRLF).encode(self.encoding, "surrogateescape"))

    def retrlines(self, cmd: str, callback=None) -> str:  # type: ignore[override]
        """ftplib's retrlines (listings) with the lines decoded leniently."""
        callback = callback or ftplib.print_line
        self.sendcmd("TYPE A")
        with self.transfercmd(cmd) as conn, \
                conn.makefile("r", encoding=self.encoding, errors="surrogateescape") as lines:
            while line := lines.readline(self.maxline + 1):
                if len(line) > self.maxline:
                    raise ftplib.Error(f"got more than {self.maxline} bytes")
                callback(line.removesuffix("\n").removesuffix("\r"))
        return self.voidresp()


class FtpFiles(RemoteDirectoryStore):
    def __init__(self, connection: ConnectionInfo, root: str) -> None:
        self.connection = connection
        self.root = root
        self.secrets = connection.secrets
        self.description = f"ftp {connection.host}:{connection.port or ftplib.FTP_PORT}/{root.lstrip('/')}"
        self._ftp: ftplib.FTP | None = None
        self._known_dirs: set[str] = set()

    # -- connection ---------------------------------------------------------------------------------

    def _client(self) -> ftplib.FTP:
        if self._ftp is None:
            self._ftp = self._connect()
        return self._ftp

    def _connect(self) -> ftplib.FTP:
        conn = self.connection
        ftp = _OddNamesFTP(
            timeout=conn.extra_float("timeout", DEFAULT_TIMEOUT),
            encoding=conn.extra_str("encoding", "utf-8"),
        )
        try:
            ftp.connect(conn.host, conn.port or ftplib.FTP_PORT)
            try:
                ftp.login(conn.login or "anonymous", conn.password)
            except ftplib.error_perm as exc:
                raise PermanentTransferError(f"login refused for {conn.login or 'anonymous'!r}: {exc}") from None
            ftp.set_pasv(conn.extra_bool("passive", True))
            ftp.voidcmd("TYPE I")  # binary: SIZE and transfers count bytes
        except BaseException:
            ftp.close()
            raise
        return ftp

    def reset(self) -> None:
        if self._ftp is not None:
            self._ftp.close()
        self._ftp = None
        self._known_dirs.clear()

    def close(self) -> None:
        if self._ftp is not None:
            try:
                self._ftp.quit()
            except (OSError, EOFError, ftplib.Error):
                pass
        self.reset()

    # -- file operations ----------------------------------------------------------------------------

    def write_atomic(self, path: str, source: BinaryIO) -> None:
        target = self._full(path)
        temp = self._full(temp_path_for(path))
        ftp = self._client()
        try:
            ftp.storbinary(f"STOR {temp}", source, blocksize=BLOCK_SIZE)
            self._replace(temp, target)
        except BaseException:
            self._remove_quietly(temp)
            raise

    def write_plain(self, path: str, source: BinaryIO) -> None:
        """Write (replacing) under this very name: for temporary names only (catalog/publish/sets/remote.py
        renames them)."""
        self._client().storbinary(f"STOR {self._full(path)}", source, blocksize=BLOCK_SIZE)

    def replace(self, source: str, target: str) -> None:
        self._replace(self._full(source), self._full(target))

    def read(self, path: str, max_bytes: int | None = None) -> bytes | None:
        full = self._full(path)
        if max_bytes is not None and (size := self._file_size(full)) is not None and size > max_bytes:
            raise FileTooLarge(path, size, max_bytes)
        buffer = io.BytesIO()

        def keep(block: bytes) -> None:
            buffer.write(block)
            if max_bytes is not None and buffer.tell() > max_bytes:
                raise FileTooLarge(path, None, max_bytes)

        try:
            self._client().retrbinary(f"RETR {full}", keep, blocksize=BLOCK_SIZE)
        except ftplib.error_perm as exc:
            if _is_missing(exc):
                return None
            raise
        except FileTooLarge:
            self.reset()        # the transfer was abandoned half way: the control connection is out of step
            raise
        return buffer.getvalue()

    def list_dir(self, path: str) -> list[RemoteEntry]:
        directory = self._full(path)
        try:
            return self._list_mlsd(directory)
        except ftplib.error_perm as exc:
            if not self._is_dir(directory):  # servers answer 550 or 501 for a missing directory
                raise FileNotFoundError(f"no directory {directory}") from None
            if not str(exc).startswith(("500", "501", "502", "504")):
                raise
        return self._list_plain(directory)  # a server without MLSD

    def exists(self, path: str) -> bool:
        full = self._full(path)
        return self._file_size(full) is not None or self._is_dir(full)

    def remove(self, path: str) -> None:
        self._client().delete(self._full(path))

    # -- helpers ------------------------------------------------------------------------------------

    def _replace(self, temp: str, target: str) -> None:
        ftp = self._client()
        try:
            ftp.rename(temp, target)
        except ftplib.error_perm:
            if self._file_size(target) is None or self._file_size(temp) is None:
                raise               # nothing to rename (an interrupted publish renamed it already): keep target
            log.warning("%s: server will not rename onto an existing file; deleting %s first (not atomic)",
                        self.description, target)
            ftp.delete(target)
            ftp.rename(temp, target)

    def _file_size(self, full: str) -> int | None:
        """Size of a file; None when there is no such file (or it is a directory)."""
        ftp = self._client()
        ftp.voidcmd("TYPE I")  # listings switch to ASCII, where servers refuse SIZE
        try:
            return ftp.size(full)
        except ftplib.error_perm:
            return None

    def _is_dir(self, full: str) -> bool:
        ftp = self._client()
        here = ftp.pwd()
        try:
            ftp.cwd(full or here)
            return True
        except ftplib.error_perm:
            return False
        finally:
            ftp.cwd(here)

    def _make_dir(self, full: str) -> None:
        try:
            self._client().mkd(full)
        except ftplib.error_perm:
            if not self._is_dir(full):
                raise

    def _remove_quietly(self, full: str) -> None:
        if self._ftp is None:
            return
        try:
            self._ftp.delete(full)
        except (OSError, EOFError, ftplib.Error):
            pass  # the connection may be gone; a hidden temp name is harmless to readers

    def _list_mlsd(self, directory: str) -> list[RemoteEntry]:
        entries = []
        for name, facts in self._client().mlsd(directory or "", facts=["type", "size", "modify"]):
            kind = facts.get("type", "").lower()
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            entries.append(RemoteEntry(
                name=name,
                is_file=kind == "file",
                size=int(facts.get("size", 0) or 0),
                mtime=_parse_ftp_time(facts.get("modify", "")),
                is_dir=kind == "dir",
            ))
        return entries

    def _list_plain(self, directory: str) -> list[RemoteEntry]:
        ftp = self._client()
        entries = []
        for listed in ftp.nlst(directory or ""):
            name = posixpath.basename(listed.rstrip("/"))
            full = posixpath.join(directory, name)
            size = self._file_size(full)
            if size is None:
                entries.append(RemoteEntry(name, False, 0, 0.0, is_dir=True))  # SIZE fails on directories
                continue
            modified = ftp.sendcmd(f"MDTM {full}").split()[-1]
            entries.append(RemoteEntry(name, True, size, _parse_ftp_time(modified)))
        return entries


def _is_missing(exc: ftplib.error_perm) -> bool:
    return str(exc).startswith("550")


def _parse_ftp_time(value: str) -> float:
    """MLSD/MDTM time: YYYYMMDDHHMMSS[.fff] in UTC."""
    if not value:
        return 0.0
    whole, _, fraction = value.partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction.isdigit() else 0.0)
