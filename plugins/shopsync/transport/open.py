"""Opening a store or destination from a shop's settings: the one place that knows every transport kind.

base.py imports none of the transport modules (local.py, ftp.py, sftp.py, http_upload.py import it); this
factory imports them, each only when used (paramiko loads only when SFTP is used).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shopsync.core import config
from shopsync.core.errors import ShopsyncError
from shopsync.transport.base import Destination, FileStore, FileStoreDestination, RetryPolicy
from shopsync.transport.connections import get_connection


def resolve_local_path(path: str, base_dir: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base_dir / candidate


def open_file_store(kind: str, path: str, conn_id: str | None, base_dir: Path) -> FileStore:
    """The store for a local/ftp/sftp directory setting (shared by destinations and the orders inbox)."""
    # Imported here: paramiko and requests load only when their transport is used
    if kind == "local":
        from shopsync.transport.local import LocalFiles

        return LocalFiles(resolve_local_path(path, base_dir))
    if not conn_id:
        raise ShopsyncError(f"{kind} transport needs conn_id (an Airflow Connection id)")
    connection = get_connection(conn_id)
    if kind == "ftp":
        from shopsync.transport.ftp import FtpFiles

        return FtpFiles(connection, path)
    if kind == "sftp":
        from shopsync.transport.sftp import SftpFiles

        return SftpFiles(connection, path)
    raise ShopsyncError(f"unknown file transport {kind!r} (expected local, ftp or sftp)")


def open_destination(
    settings: config.Destination, base_dir: Path, retry: RetryPolicy | None = None
) -> Destination:
    """The destination a shop publishes to; relative local paths are resolved against base_dir."""
    if settings.kind == "http":
        from shopsync.transport.http_upload import HttpDestination

        if not settings.conn_id:
            raise ShopsyncError("http destination needs conn_id (an Airflow Connection id)")
        return HttpDestination(get_connection(settings.conn_id), settings.path, settings.method, retry)
    store = open_file_store(settings.kind, settings.path, settings.conn_id, base_dir)
    return FileStoreDestination(store, retry)


def destination_identity(settings: config.Destination, base_dir: Path) -> dict[str, Any]:
    """Where a destination really is (kind, host, port, path): what was uploaded is remembered per identity."""
    if settings.kind == "local":
        return {"kind": "local", "host": "", "port": 0, "path": os.path.abspath(resolve_local_path(settings.path,
                                                                                                  base_dir))}
    connection = get_connection(settings.conn_id or "")
    return {"kind": settings.kind, "host": connection.host, "port": connection.port or 0, "path": settings.path}
