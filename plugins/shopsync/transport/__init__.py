"""Stores and destinations (local, FTP, SFTP, HTTP) with retries, each file written atomically.

Used by catalog publishing (shopsync.catalog.publish) and the orders inbox (shopsync.orders.inbox).
Connections come from Airflow Connections (inside a task, through shopsync.airflow.connections) or
AIRFLOW_CONN_* variables (connections.py); open.py is the one factory that knows every transport kind.
"""

from shopsync.transport.base import Destination, OutgoingFile, PublishError, PutResult, RetryPolicy
from shopsync.transport.connections import ConnectionInfo, get_connection
from shopsync.transport.open import open_destination

__all__ = [
    "ConnectionInfo",
    "Destination",
    "OutgoingFile",
    "PublishError",
    "PutResult",
    "RetryPolicy",
    "get_connection",
    "open_destination",
]
