"""An SFTP directory as a file store (paramiko, the library the Airflow SFTP/SSH providers wrap).

Connection: host, port (22), login, and password and/or a key: extra `key_file` (path) or
`private_key` (key text), `private_key_passphrase`. The server is checked against extra `host_key`
("ssh-ed25519 AAAA..." or the base64 part alone), else against the system known_hosts; extra
`no_host_key_check: true` skips the check (logged as a warning). Extras `conn_timeout` (default 10)
and `timeout` (per operation, default 30) in seconds. Same extra names as the Airflow SSH provider.

Replacing a file: upload under a hidden temporary name, then the posix-rename extension (OpenSSH,
asyncssh) which replaces atomically. Without that extension: plain rename, and when the target exists
delete-then-rename, which is NOT atomic (logged as a warning).
"""

from __future__ import annotations

import base64
import errno
import io
import logging
import stat
from typing import BinaryIO

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError
from paramiko.sftp_attr import SFTPAttributes

from shopsync.core.errors import ShopsyncError
from shopsync.transport.base import (
    FileTooLarge,
    NotRegularFile,
    PermanentTransferError,
    RemoteDirectoryStore,
    RemoteEntry,
    temp_path_for,
)
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

SSH_PORT = 22
KEY_CLASSES: tuple[type[paramiko.PKey], ...] = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


class SftpFiles(RemoteDirectoryStore):
    def __init__(self, connection: ConnectionInfo, root: str) -> None:
        self.connection = connection
        self.root = root
        self.secrets = connection.secrets
        self.description = f"sftp {connection.host}:{connection.port or SSH_PORT}/{root.lstrip('/')}"
        self._ssh: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename_works: bool | None = None
        self._known_dirs: set[str] = set()

    # -- connection ---------------------------------------------------------------------------------

    def _client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._ssh = connect_ssh(self.connection)
            self._sftp = self._ssh.open_sftp()
            self._sftp.get_channel().settimeout(self.connection.extra_float("timeout", 30.0))
        return _OddNamesSafe(self._sftp)  # type: ignore[return-value]

    def reset(self) -> None:
        for closable in (self._sftp, self._ssh):
            if closable is not None:
                try:
                    closable.close()
                except (OSError, EOFError, paramiko.SSHException):
                    pass
        self._sftp = None
        self._ssh = None
        self._known_dirs.clear()

    def close(self) -> None:
        self.reset()

    # -- file operations ----------------------------------------------------------------------------

    def write_atomic(self, path: str, source: BinaryIO) -> None:
        target = self._full(path)
        temp = self._full(temp_path_for(path))
        sftp = self._client()
        try:
            sftp.putfo(source, temp, confirm=True)
            self._replace(temp, target)
        except BaseException:
            self._remove_quietly(temp)
            raise

    def write_plain(self, path: str, source: BinaryIO) -> None:
        """Write (replacing) under this very name: for temporary names only (catalog/publish/sets/remote.py
        renames them)."""
        self._client().putfo(source, self._full(path), confirm=True)

    def replace(self, source: str, target: str) -> None:
        self._replace(self._full(source), self._full(target))

    def read(self, path: str, max_bytes: int | None = None) -> bytes | None:
        full = self._full(path)
        try:
            if max_bytes is not None:
                found = self._client().lstat(full)
                if not stat.S_ISREG(found.st_mode or 0):
                    raise NotRegularFile(f"{path} is not a regular file")
                if (found.st_size or 0) > max_bytes:
                    raise FileTooLarge(path, found.st_size, max_bytes)
            with self._client().open(full, "rb") as remote:
                remote.prefetch()
                data = remote.read() if max_bytes is None else remote.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        if max_bytes is not None and len(data) > max_bytes:
            raise FileTooLarge(path, None, max_bytes)
        return data

    def list_dir(self, path: str) -> list[RemoteEntry]:
        full = self._full(path) or "."
        try:
            listed = self._client().listdir_attr(full)
        except UnicodeDecodeError:      # a name that is not UTF-8: paramiko gives up on the whole listing
            listed = self._listdir_attr_raw(full)
        return [
            RemoteEntry(
                name=attrs.filename,
                is_file=stat.S_ISREG(attrs.st_mode or 0),
                size=attrs.st_size or 0,
                mtime=float(attrs.st_mtime or 0),
                is_dir=stat.S_ISDIR(attrs.st_mode or 0),
            )
            for attrs in listed
        ]

    def _listdir_attr_raw(self, full: str) -> list[SFTPAttributes]:
        """listdir_attr with names decoded like os file names (bytes that are not UTF-8 as surrogate escapes).

        paramiko's own listdir_attr decodes names strictly; this is the same protocol exchange (its private
        _request, as in paramiko 3) with the names kept."""
        sftp = self._client()._target
        kind, msg = sftp._request(CMD_OPENDIR, _wire(full))
        if kind != CMD_HANDLE:
            raise SFTPError("Expected handle")
        handle = msg.get_binary()
        entries = []
        try:
            while True:
                try:
                    kind, msg = sftp._request(CMD_READDIR, handle)
                except EOFError:
                    break
                if kind != CMD_NAME:
                    raise SFTPError("Expected name response")
                for _ in range(msg.get_int()):
                    filename = msg.get_string().decode("utf-8", "surrogateescape")
                    longname = msg.get_string()
                    attrs = SFTPAttributes._from_msg(msg, filename, longname)
                    if filename not in (".", ".."):
                        entries.append(attrs)
        finally:
            sftp._request(CMD_CLOSE, handle)
        return entries

    def exists(self, path: str) -> bool:
        return self._exists_full(self._full(path) or ".")

    def remove(self, path: str) -> None:
        self._client().remove(self._full(path))

    # -- helpers ------------------------------------------------------------------------------------

    def _make_dir(self, full: str) -> None:
        sftp = self._client()
        try:
            sftp.stat(full)
        except FileNotFoundError:
            sftp.mkdir(full)

    def _replace(self, temp: str, target: str) -> None:
        sftp = self._client()
        if self._posix_rename_works is not False:
            try:
                sftp.posix_rename(temp, target)
                self._posix_rename_works = True
                return
            except OSError as exc:
                if self._posix_rename_works or exc.errno in (errno.ENOENT, errno.EACCES):
                    raise
                self._posix_rename_works = False  # the server lacks the extension
        if self._exists_full(target) and self._exists_full(temp):
            log.warning("%s: server has no posix-rename; deleting %s first (not atomic)", self.description, target)
            sftp.remove(target)
        sftp.rename(temp, target)

    def _exists_full(self, full: str) -> bool:
        try:
            self._client().stat(full)
            return True
        except FileNotFoundError:
            return False

    def _remove_quietly(self, full: str) -> None:
        if self._sftp is None:
            return
        try:
            self._sftp.remove(full)
        except (OSError, EOFError, paramiko.SSHException):
            pass


def _wire(path: str) -> str | bytes:
    """A path as paramiko can send it: bytes when it holds surrogate escapes (a name that is not UTF-8)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape")
    return path


class _OddNamesSafe:
    """The SFTP client, with every text path that is not valid UTF-8 sent as the bytes it stands for."""

    def __init__(self, target: paramiko.SFTPClient) -> None:
        self._target = target

    def __getattr__(self, name: str):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            return attribute(*(_wire(arg) if isinstance(arg, str) else arg for arg in args), **kwargs)

        return call


def connect_ssh(connection: ConnectionInfo) -> paramiko.SSHClient:
    """An SSH client logged in with the connection's password and/or key, the host key checked."""
    client = paramiko.SSHClient()
    port = connection.port or SSH_PORT
    _set_host_key_policy(client, connection, port)
    try:
        _connect(client, connection, port)
    except BaseException:
        client.close()
        raise
    return client


def _connect(client: paramiko.SSHClient, connection: ConnectionInfo, port: int) -> None:
    timeout = connection.extra_float("conn_timeout", 10.0)
    try:
        client.connect(
            hostname=connection.host,
            port=port,
            username=connection.login or None,
            password=connection.password or None,
            pkey=_private_key(connection),
            key_filename=connection.extra_str("key_file") or None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            look_for_keys=False,
            allow_agent=False,
        )
    except (paramiko.AuthenticationException, paramiko.BadHostKeyException) as exc:
        raise PermanentTransferError(f"{type(exc).__name__}: {exc}") from None
    except paramiko.SSHException as exc:
        if "known_hosts" not in str(exc):  # RejectPolicy: the server's key is not known
            raise
        raise PermanentTransferError(f"host key of {connection.host} is not known: set extra host_key") from None


def _set_host_key_policy(client: paramiko.SSHClient, connection: ConnectionInfo, port: int) -> None:
    host_key = connection.extra_str("host_key")
    if host_key:
        name = connection.host if port == SSH_PORT else f"[{connection.host}]:{port}"
        key = _parse_public_key(connection.conn_id, host_key)
        client.get_host_keys().add(name, key.get_name(), key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    elif connection.extra_bool("no_host_key_check", False):
        log.warning("connection %r: host key not verified (no_host_key_check)", connection.conn_id)
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())


def _parse_public_key(conn_id: str, text: str) -> paramiko.PKey:
    """"ssh-ed25519 AAAA... [comment]" or the base64 blob alone (its type is inside the blob)."""
    fields = text.split()
    blob_text = fields[1] if len(fields) > 1 else fields[0]
    try:
        blob = base64.b64decode(blob_text)
        key_type = paramiko.Message(blob).get_text()
        return paramiko.PKey.from_type_string(key_type, blob)
    except Exception:
        raise ShopsyncError(f"connection {conn_id!r}: extra host_key is not an SSH public key") from None


def _private_key(connection: ConnectionInfo) -> paramiko.PKey | None:
    text = connection.extra_str("private_key")
    if not text:
        return None
    passphrase = connection.extra_str("private_key_passphrase") or None
    for key_class in KEY_CLASSES:
        try:
            return key_class.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.SSHException:
            continue
    raise ShopsyncError(f"connection {connection.conn_id!r}: extra private_key is not a key paramiko can read")
