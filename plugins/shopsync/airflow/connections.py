"""Connection lookups through Airflow's public Task SDK: what shopsync.transport asks for inside a task."""

from __future__ import annotations

from shopsync.core.errors import ShopsyncError
from shopsync.transport.connections import ConnectionInfo


def connection_from_airflow(conn_id: str) -> ConnectionInfo:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception as exc:  # AirflowNotFoundException and backend errors; their text names no secret
        raise ShopsyncError(f"connection {conn_id!r}: Airflow could not provide it ({type(exc).__name__})") from None
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=conn.conn_type or "",
        host=conn.host or "",
        port=conn.port,
        login=conn.login or "",
        password=conn.password or "",
        schema=conn.schema or "",
        extra=dict(conn.extra_dejson or {}),
    )
