"""The accounting database failing: passwords never shown, one clear line from the CLI, no silent fallback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from test_cli import assert_clean_error, run_cli

from shopsync import testing
from shopsync.core.db import database_failures_as_unavailable, get_engine, redact
from shopsync.core.errors import DatabaseUnavailable, DatabaseUrlError

TESTS = Path(__file__).resolve().parents[1]
SECRET_PARTS = ("Pw-1", "Xyzzy-42")          # the password is "Pw-1@Xyzzy-42": no part of it may show
UNREACHABLE_URLS = {
    "unencoded @": "postgresql://shop:Pw-1@Xyzzy-42@127.0.0.1:1/accounting",
    "query string": "postgresql://shop@127.0.0.1:1/accounting?password=Pw-1@Xyzzy-42&connect_timeout=3",
    "query string, first": "postgresql://127.0.0.1:1/accounting?password=Pw-1Xyzzy-42&user=shop",
    "encoded @": "postgresql://shop:Pw-1%40Xyzzy-42@127.0.0.1:1/accounting",
    "unencoded @ and /": "postgresql://shop:Pw-1@Xyzzy/-42@127.0.0.1:1/accounting",
}


def assert_no_secret(text: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text, text


@pytest.mark.parametrize("url", UNREACHABLE_URLS.values(), ids=UNREACHABLE_URLS.keys())
def test_redact_hides_every_shape_of_password(url: str) -> None:
    shown = redact(url)
    assert_no_secret(shown)
    assert "127.0.0.1:1" in shown and "***" in shown


@pytest.mark.parametrize("url", UNREACHABLE_URLS.values(), ids=UNREACHABLE_URLS.keys())
def test_a_failing_connection_is_one_line_without_any_part_of_the_password(url: str) -> None:
    result = run_cli("db", "status", env={"SHOPSYNC_DB_URL": url})
    assert result.returncode == 2
    assert_clean_error(result, "127.0.0.1:1")
    assert_no_secret(result.stdout + result.stderr)


def test_a_password_in_the_query_string_is_hidden_when_the_database_answers(db_url: str) -> None:
    url = make_url(db_url).update_query_dict({"password": "Pw-1@Xyzzy-42"}).render_as_string(hide_password=False)
    for command in (["db", "url"], ["db", "status"], ["db", "init"]):
        result = run_cli(*command, env={"SHOPSYNC_DB_URL": url})
        assert result.returncode == 0, result.stderr
        assert_no_secret(result.stdout + result.stderr)
        assert "password=***" in result.stdout


def test_an_unencoded_at_sign_is_refused_before_connecting() -> None:
    with pytest.raises(DatabaseUrlError, match="unencoded .@. in the password") as raised:
        get_engine(UNREACHABLE_URLS["unencoded @"])
    assert_no_secret(str(raised.value))
    assert not raised.value.retryable


# --- an empty SHOPSYNC_DB_URL --------------------------------------------------------------------

def test_an_empty_database_url_is_an_error_not_the_embedded_database(tmp_path: Path) -> None:
    local = tmp_path / "local"
    for empty in ("", "  "):
        result = run_cli("db", "status", env={"SHOPSYNC_DB_URL": empty, "SHOPSYNC_LOCAL_DIR": str(local)})
        assert result.returncode == 2
        assert_clean_error(result, "SHOPSYNC_DB_URL is set but empty")
    assert not (local / "pgdata").exists()      # the embedded server was not started


# --- the Airflow Connection lookup ---------------------------------------------------------------

LOOKUP = """
import json, sys
from shopsync.airflow.tasks import accounting_db_url
try:
    print(json.dumps({"url": accounting_db_url()}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def lookup_accounting_url(tmp_path: Path, **env: str) -> dict:
    import json

    full_env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    full_env.update(AIRFLOW_HOME=str(tmp_path / "airflow_home"), SHOPSYNC_DB_URL="postgresql://fallback@db/x",
                    PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]), **env)
    result = subprocess.run([sys.executable, "-c", LOOKUP], env=full_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_connection_when_defined_else_the_fallback(tmp_path: Path) -> None:
    assert lookup_accounting_url(tmp_path) == {"url": "postgresql://fallback@db/x"}
    defined = lookup_accounting_url(tmp_path, AIRFLOW_CONN_SHOPSYNC_ACCOUNTING="postgres://shop:pw@acc:5432/retail")
    assert defined == {"url": "postgresql://shop:pw@acc:5432/retail"}


def test_an_unreadable_connection_is_an_error_not_another_database(tmp_path: Path) -> None:
    answer = lookup_accounting_url(tmp_path, AIRFLOW_CONN_SHOPSYNC_ACCOUNTING='{"conn_type": "postgres", ')
    assert answer["error"] == "DatabaseUrlError"
    assert "AIRFLOW_CONN_SHOPSYNC_ACCOUNTING is set, but Airflow cannot read it" in answer["message"]


def test_a_secrets_backend_refusing_is_an_error_not_another_database(tmp_path: Path) -> None:
    answer = lookup_accounting_url(tmp_path, AIRFLOW__SECRETS__BACKEND="denying_secrets_backend.DenyingBackend")
    assert answer["error"] == "AirflowSecretsBackendAccessDenied"


# --- the database going away in the middle of a command ------------------------------------------

@pytest.fixture
def throwaway_database() -> Iterator[str]:
    url = testing.create_schema_database("shopsync_gone")
    yield url
    testing.drop_database(url)


class BlockedCommand:
    """A CLI command started while a table it reads is locked: it is connected and waiting when we act."""

    def __init__(self, url: str, table: str, *command: str):
        self.url = url
        self.holder = sa.create_engine(url, isolation_level="AUTOCOMMIT").connect()
        self.holder.execute(sa.text("BEGIN"))
        self.holder.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        self.result: subprocess.CompletedProcess | None = None
        self.thread = threading.Thread(target=self._run, args=(command,))
        self.thread.start()

    def _run(self, command: tuple[str, ...]) -> None:
        self.result = run_cli(*command, env={"SHOPSYNC_DB_URL": self.url})

    def waiting_backend(self) -> int:
        assert self.thread.is_alive(), self.result
        return waiting_backend(self.url)

    def finish(self) -> subprocess.CompletedProcess:
        self.thread.join(timeout=120)
        try:
            self.holder.close()
        except sa.exc.DBAPIError:
            pass                            # the holder was terminated with the database
        assert self.result is not None
        return self.result


def waiting_backend(url: str, timeout: float = 60) -> int:
    """The pid of the backend waiting for a lock in the database of `url` (polled from a connection of its own:
    a transaction sees one snapshot of pg_stat_activity)."""
    engine = sa.create_engine(testing.admin_url(), isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pid = conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock'"
                ), {"name": make_url(url).database}).scalar()
            if pid:
                return pid
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("nothing waited for the lock")


def admin_execute(statement: str, **params: object) -> None:
    engine = sa.create_engine(testing.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def test_a_terminated_connection_mid_command_is_one_line_and_exit_2(throwaway_database: str) -> None:
    command = BlockedCommand(throwaway_database, "goods", "db", "status")
    admin_execute("SELECT pg_terminate_backend(:pid)", pid=command.waiting_backend())
    result = command.finish()

    assert result.returncode == 2
    assert_clean_error(result, "the accounting database failed during the run", "terminating connection")


def test_a_database_dropped_mid_command_is_one_line_and_exit_2(throwaway_database: str) -> None:
    command = BlockedCommand(throwaway_database, "goods", "db", "status")
    command.waiting_backend()
    admin_execute(f'DROP DATABASE "{make_url(throwaway_database).database}" WITH (FORCE)')
    result = command.finish()

    assert result.returncode == 2
    assert_clean_error(result, "the accounting database failed during the run")

    again = run_cli("db", "status", env={"SHOPSYNC_DB_URL": throwaway_database})
    assert again.returncode == 2
    assert_clean_error(again, "does not answer", "does not exist")


def test_in_a_task_a_terminated_connection_is_a_retryable_database_unavailable(throwaway_database: str) -> None:
    engine = sa.create_engine(throwaway_database)
    holder = sa.create_engine(throwaway_database, isolation_level="AUTOCOMMIT").connect()
    holder.execute(sa.text("BEGIN"))
    holder.execute(sa.text("LOCK TABLE goods IN ACCESS EXCLUSIVE MODE"))

    def terminate_the_waiting_backend() -> None:
        admin_execute("SELECT pg_terminate_backend(:pid)", pid=waiting_backend(throwaway_database))

    killer = threading.Thread(target=terminate_the_waiting_backend)
    killer.start()
    try:
        with pytest.raises(DatabaseUnavailable, match="terminating connection") as raised:
            with database_failures_as_unavailable(), engine.connect() as conn:
                conn.execute(sa.text("SELECT count(*) FROM goods"))
    finally:
        killer.join(timeout=60)
        holder.close()
        engine.dispose()
    assert raised.value.retryable
