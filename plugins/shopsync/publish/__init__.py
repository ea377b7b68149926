"""Publishing feeds and photos to a shop's destination (local, FTP, SFTP, HTTP), each file atomically.

Connections come from Airflow Connections or AIRFLOW_CONN_* variables (connections.py); the file
transports (local.py, ftp.py, sftp.py) are shared with the orders inbox (shopsync.orders.inbox).
"""

from shopsync.publish.base import (
    Destination,
    OutgoingFile,
    PublishError,
    PutResult,
    RetryPolicy,
    open_destination,
)
from shopsync.publish.connections import ConnectionInfo, get_connection
from shopsync.publish.manifest import ManifestEntry, build_manifest, publish_with_manifest, write_manifest

__all__ = [
    "ConnectionInfo",
    "Destination",
    "ManifestEntry",
    "OutgoingFile",
    "PublishError",
    "PutResult",
    "RetryPolicy",
    "build_manifest",
    "get_connection",
    "open_destination",
    "publish_with_manifest",
    "write_manifest",
]
