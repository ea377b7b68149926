"""Connection settings (host, login, secrets) from Airflow Connections or AIRFLOW_CONN_* environment variables.

Inside an Airflow task the Task SDK resolves the connection (its secrets backends, the API server).
Anywhere else (CLI, tests) the `AIRFLOW_CONN_<ID>` variable is parsed here, in either form Airflow
accepts: a connection URI or a JSON object. Secrets never appear in repr(), logs or error messages.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from shopsync.core.errors import ShopsyncError

SECRET_EXTRA_KEYS = frozenset({"private_key", "private_key_passphrase", "password", "passphrase", "token",
                               "tracking_token"})     # Ukrposhta's tracking bearer
TASK_RUNNER_MODULE = "airflow.sdk.execution_time.task_runner"


@dataclass(frozen=True)
class ConnectionInfo:
    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = field(default="", repr=False)
    schema: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        shown_extra = {key: "***" if key in SECRET_EXTRA_KEYS else value for key, value in self.extra.items()}
        return (
            f"ConnectionInfo(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r}, "
            f"port={self.port!r}, login={self.login!r}, password={'***' if self.password else ''!r}, "
            f"schema={self.schema!r}, extra={shown_extra!r})"
        )

    __str__ = __repr__

    @property
    def secrets(self) -> list[str]:
        """Values that must never be shown (used to scrub error messages from libraries)."""
        values = [self.password] + [str(self.extra[key]) for key in SECRET_EXTRA_KEYS if self.extra.get(key)]
        return [value for value in values if value]

    def extra_str(self, key: str, default: str = "") -> str:
        value = self.extra.get(key)
        return default if value is None else str(value)

    def extra_bool(self, key: str, default: bool) -> bool:
        """Extras from a URI are strings: "false" must read as False."""
        value = self.extra.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, str):
            return value.strip().lower() not in ("false", "0", "no", "off")
        return bool(value)

    def extra_float(self, key: str, default: float) -> float:
        value = self.extra.get(key)
        try:
            return default if value in (None, "") else float(value)
        except (TypeError, ValueError):
            raise ShopsyncError(f"connection {self.conn_id!r}: extra {key!r} must be a number") from None


def env_var_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


ConnectionLookup = Callable[[str], ConnectionInfo]
_task_connections: ConnectionLookup | None = None
_seen_secrets: set[str] = set()


def use_task_connections(lookup: ConnectionLookup | None) -> None:
    """Where get_connection asks inside an Airflow task: set by the task glue (shopsync.airflow.tasks.shop_task),
    so that this room never imports Airflow."""
    global _task_connections
    _task_connections = lookup


def get_connection(conn_id: str) -> ConnectionInfo:
    """The connection `conn_id`: from Airflow inside a task, else from the AIRFLOW_CONN_<ID> variable."""
    info = _look_up(conn_id)
    _seen_secrets.update(info.secrets)
    return info


def seen_secrets() -> list[str]:
    """The secrets of every connection looked up in this process: what a failure alert hides besides its own
    (as Airflow's log masker hides them from the task log)."""
    return sorted(_seen_secrets)


def _look_up(conn_id: str) -> ConnectionInfo:
    if _task_connections is not None and running_in_airflow_task():
        return _task_connections(conn_id)
    raw = os.environ.get(env_var_name(conn_id))
    if raw is None or not raw.strip():
        raise ShopsyncError(
            f"connection {conn_id!r} is not defined: add it as an Airflow Connection "
            f"or set the environment variable {env_var_name(conn_id)} (a connection URI or JSON)"
        )
    return parse_connection(conn_id, raw)


def running_in_airflow_task() -> bool:
    """True inside an Airflow task process: the Task SDK's runner has set up its channel to the supervisor.

    Checked through sys.modules so that code outside Airflow never imports it (Airflow's own BaseHook
    used the same test).
    """
    task_runner = sys.modules.get(TASK_RUNNER_MODULE)
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def parse_connection(conn_id: str, raw: str) -> ConnectionInfo:
    text = raw.strip()
    if text.startswith("{"):
        return parse_connection_json(conn_id, text)
    return parse_connection_uri(conn_id, text)


def parse_connection_json(conn_id: str, text: str) -> ConnectionInfo:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ShopsyncError(f"{env_var_name(conn_id)}: not valid JSON") from None
    if not isinstance(data, dict):
        raise ShopsyncError(f"{env_var_name(conn_id)}: expected a JSON object")
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = _parse_extra_json(conn_id, extra)
    port = data.get("port")
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=_normalize_conn_type(str(data.get("conn_type") or "")),
        host=str(data.get("host") or ""),
        port=_parse_port(conn_id, port) if port not in (None, "") else None,
        login=str(data.get("login") or ""),
        password=str(data.get("password") or ""),
        schema=str(data.get("schema") or ""),
        extra=dict(extra),
    )


def parse_connection_uri(conn_id: str, uri: str) -> ConnectionInfo:
    """Airflow's connection URI rules: scheme -> type, path -> schema, query -> extra (or __extra__ JSON).

    A second "://" means the host carries its own protocol (e.g. ``http://https://example.com``).
    """
    if "://" not in uri:
        raise ShopsyncError(f"{env_var_name(conn_id)}: not a connection URI (expected type://...) or JSON")
    conn_type, rest = uri.split("://", 1)
    host_protocol = ""
    if "://" in rest:
        host_protocol, rest = rest.split("://", 1)
    try:
        parts = urlsplit("//" + rest)
        port = parts.port
    except ValueError:
        raise ShopsyncError(f"{env_var_name(conn_id)}: malformed connection URI") from None
    host = unquote(parts.hostname or "")
    if host_protocol:
        host = f"{host_protocol}://{host}"
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=_normalize_conn_type(conn_type),
        host=host,
        port=port,
        login=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        schema=unquote(parts.path[1:]),
        extra=_parse_query_extra(conn_id, parts.query),
    )


def _parse_query_extra(conn_id: str, query: str) -> dict[str, Any]:
    if not query:
        return {}
    values = dict(parse_qsl(query, keep_blank_values=True))
    if "__extra__" in values:
        return _parse_extra_json(conn_id, values["__extra__"])
    return values


def _parse_extra_json(conn_id: str, text: str) -> dict[str, Any]:
    try:
        extra = json.loads(text)
    except json.JSONDecodeError:
        raise ShopsyncError(f"{env_var_name(conn_id)}: extra is not valid JSON") from None
    if not isinstance(extra, dict):
        raise ShopsyncError(f"{env_var_name(conn_id)}: extra must be a JSON object")
    return extra


def _parse_port(conn_id: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ShopsyncError(f"{env_var_name(conn_id)}: port must be a number") from None


def _normalize_conn_type(conn_type: str) -> str:
    return conn_type.replace("-", "_")


def scrub(text: str, secrets: list[str]) -> str:
    """Remove secret values from a message that came from a library (server replies, exception text)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
