"""Connections: AIRFLOW_CONN_* in URI and JSON form, parsed as Airflow does; Airflow's own inside a task."""

from __future__ import annotations

import json
import sys
import types

import pytest

from shopsync.core.errors import ShopsyncError
from shopsync.transport.connections import (
    TASK_RUNNER_MODULE,
    ConnectionInfo,
    get_connection,
    parse_connection_uri,
    running_in_airflow_task,
    use_task_connections,
)

SECRET = "Sup3r-S3cret!pw"

AIRFLOW_URIS = [
    "ftp://user:p%40ss%3Aword@127.0.0.1:2121/",
    "ftp://user:pw@ftp.example.com/inbox?passive=false&encoding=cp1251",
    "sftp://deploy@shop.example.com:2222/?key_file=%2Fkeys%2Fid_ed25519&no_host_key_check=true",
    "http://user:pw@127.0.0.1:8080/https",
    "http://https%3A%2F%2Fupload.example.com%2Fapi",
    "http://https://upload.example.com",
    'sftp://u@h:22/?__extra__=%7B%22private_key%22%3A+%22KEY%22%2C+%22conn_timeout%22%3A+5%7D',
    "my-conn-type://user@host/some%2Fschema",
]


@pytest.mark.parametrize("uri", AIRFLOW_URIS)
def test_uri_parses_as_airflow_parses_it(uri: str) -> None:
    from airflow.sdk import Connection

    theirs = Connection.from_uri(uri, conn_id="probe")
    ours = parse_connection_uri("probe", uri)

    assert ours.conn_type == theirs.conn_type
    assert ours.host == (theirs.host or "")
    assert ours.port == theirs.port
    assert ours.login == (theirs.login or "")
    assert ours.password == (theirs.password or "")
    assert ours.schema == (theirs.schema or "")
    assert ours.extra == theirs.extra_dejson


def test_env_var_uri_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", "ftp://shop:Sup3r-S3cret%21pw@127.0.0.1:2121/feeds?passive=false")

    conn = get_connection("shop_ftp")

    assert (conn.conn_type, conn.host, conn.port, conn.login, conn.password, conn.schema) == (
        "ftp", "127.0.0.1", 2121, "shop", SECRET, "feeds")
    assert conn.extra_bool("passive", True) is False


def test_env_var_json_form_with_extra_as_object_or_string(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"conn_type": "sftp", "host": "h.example", "login": "u", "password": SECRET, "port": "2222"}
    monkeypatch.setenv("AIRFLOW_CONN_A", json.dumps(base | {"extra": {"key_file": "/k"}}))
    monkeypatch.setenv("AIRFLOW_CONN_B", json.dumps(base | {"extra": json.dumps({"key_file": "/k"})}))

    for conn_id in ("a", "b"):
        conn = get_connection(conn_id)
        assert (conn.conn_type, conn.host, conn.port, conn.login, conn.password) == (
            "sftp", "h.example", 2222, "u", SECRET)
        assert conn.extra == {"key_file": "/k"}


def test_missing_connection_names_the_conn_id_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)

    with pytest.raises(ShopsyncError) as caught:
        get_connection("nowhere")

    assert "'nowhere'" in str(caught.value)
    assert "AIRFLOW_CONN_NOWHERE" in str(caught.value)


@pytest.mark.parametrize("raw", ["not a uri", "{not json", '["a list"]', "ftp://u:p@host:notaport/"])
def test_malformed_connection_is_a_clear_error_without_the_secret(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", raw)

    with pytest.raises(ShopsyncError) as caught:
        get_connection("broken")

    assert "AIRFLOW_CONN_BROKEN" in str(caught.value)
    assert ":p@" not in str(caught.value)


def test_repr_hides_password_and_private_key() -> None:
    conn = ConnectionInfo(conn_id="x", conn_type="sftp", host="h", login="u", password=SECRET,
                          extra={"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----abc", "key_file": "/k"})

    for text in (repr(conn), str(conn), f"{conn}"):
        assert SECRET not in text
        assert "BEGIN OPENSSH" not in text
        assert "/k" in text and "'u'" in text


def test_repr_hides_the_carrier_tokens_and_secrets_lists_them() -> None:
    conn = ConnectionInfo(conn_id="up", conn_type="http", host="h", password=SECRET,
                          extra={"token": "counterparty-Zz1", "tracking_token": "tracking-Zz2", "timeout": "5"})

    assert "counterparty-Zz1" not in repr(conn) and "tracking-Zz2" not in repr(conn) and "'timeout': '5'" in repr(conn)
    assert {"counterparty-Zz1", "tracking-Zz2", SECRET} <= set(conn.secrets)


def test_outside_a_task_airflow_is_not_consulted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, TASK_RUNNER_MODULE, raising=False)
    assert running_in_airflow_task() is False


@pytest.fixture
def task_glue():
    """The task glue's connection lookup (what shop_task installs), removed again after the test."""
    from shopsync.airflow.connections import connection_from_airflow

    use_task_connections(connection_from_airflow)
    yield
    use_task_connections(None)


def test_inside_a_task_the_connection_comes_from_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import Connection

    from shopsync.airflow.tasks import shop_task

    fake_runner = types.ModuleType(TASK_RUNNER_MODULE)
    fake_runner.SUPERVISOR_COMMS = object()  # what the Task SDK sets up in a task process
    monkeypatch.setitem(sys.modules, TASK_RUNNER_MODULE, fake_runner)
    monkeypatch.delenv("AIRFLOW_CONN_FROM_AIRFLOW", raising=False)
    asked = []

    def fake_get(conn_id: str) -> Connection:
        asked.append(conn_id)
        return Connection(conn_id=conn_id, conn_type="ftp", host="files.example", port=21, login="shop",
                          password=SECRET, extra=json.dumps({"passive": False}))

    monkeypatch.setattr(Connection, "get", staticmethod(fake_get))

    try:
        conn = shop_task(lambda: get_connection("from_airflow"))()   # the glue installs Airflow's lookup
    finally:
        use_task_connections(None)

    assert asked == ["from_airflow"]
    assert (conn.conn_type, conn.host, conn.port, conn.login, conn.password) == (
        "ftp", "files.example", 21, "shop", SECRET)
    assert conn.extra == {"passive": False}


@pytest.mark.usefixtures("task_glue")
def test_inside_a_task_an_unknown_connection_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    fake_runner = types.ModuleType(TASK_RUNNER_MODULE)
    fake_runner.SUPERVISOR_COMMS = object()
    monkeypatch.setitem(sys.modules, TASK_RUNNER_MODULE, fake_runner)

    def not_found(conn_id: str) -> Connection:
        raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")

    monkeypatch.setattr(Connection, "get", staticmethod(not_found))

    with pytest.raises(ShopsyncError, match="'ghost'"):
        get_connection("ghost")
