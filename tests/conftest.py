"""Shared fixtures: one throwaway PostgreSQL database per test run (per xdist worker)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync import testing

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Servers on 127.0.0.1 for tests in several directories: FTP, SFTP and HTTP (and fast retries, local source
# files) for the transports, the orders inbox and the catalog's publishing; SMTP for the alerts and DAG runs;
# the fake channel APIs (tests/fakes, see fake_channels.py: importable, their fixtures offered everywhere).
sys.path.insert(0, str(Path(__file__).resolve().parent / "fakes"))
pytest_plugins = ["local_servers", "mail_server", "fake_channels", "fake_carriers"]


@pytest.fixture(scope="session", autouse=True)
def arrow_allocator() -> None:
    """Arrow's allocator as every entry point (tasks, CLI, workers) sets it, so tests run like production."""
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """URL of this run's own database, schema applied; dropped at the end of the run."""
    url = testing.create_schema_database()
    yield url
    testing.drop_database(url)


@pytest.fixture(scope="session")
def session_engine(db_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(session_engine: Engine) -> Engine:
    """The run's database, emptied before the test (tests never see each other's data)."""
    testing.truncate_all(session_engine)
    return session_engine


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A second, separate database for tests that need one of their own (dropped afterwards)."""
    url = testing.create_schema_database("shopsync_extra")
    yield url
    testing.drop_database(url)


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point .local/ (feeds, snapshots, photos, inboxes) at a temporary directory."""
    path = tmp_path / "local"
    path.mkdir()
    monkeypatch.setenv("SHOPSYNC_LOCAL_DIR", str(path))
    monkeypatch.setenv("SHOPSYNC_PHOTOS_DIR", str(path / "photos"))
    return path
