"""A real multi-process Airflow 3 deployment on this machine, for end-to-end tests.

api-server, scheduler, dag-processor, triggerer and two Celery workers (Redis broker), PostgreSQL as the
metadata database. Every process runs in its own session so it can be stopped with its children; the
context manager stops them all, also when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

AIRFLOW = str(Path(sys.executable).parent / "airflow")
ROOT = Path(__file__).resolve().parents[2]


T = TypeVar("T")


def say(text: str) -> None:
    """A line of the e2e test's own story in the pytest output (run with -s to see it live)."""
    print(f"[e2e] {text}", flush=True)


def poll(predicate: Callable[[], T], timeout: float, what: str, cluster: AirflowCluster,
         interval: float = 2.0) -> T:
    """The predicate's first truthy value within `timeout` seconds; else a failure with every process's log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{cluster.all_log_tails()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sqlalchemy_url_for_airflow(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


@dataclass
class AirflowCluster:
    home: Path
    metadata_url: str
    accounting_url: str
    shops_dir: Path
    local_dir: Path
    redis_db: int = 9
    workers: int = 2
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)   # e.g. AIRFLOW_CONN_* of fake servers, settings
    _token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        broker = f"redis://127.0.0.1:6379/{self.redis_db}"
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url_for_airflow(self.metadata_url),
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url_for_airflow(self.metadata_url),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__SECRET_KEY": self._shared_secret("api"),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._shared_secret("jwt"),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "40",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_SHOPSYNC_ACCOUNTING": self.accounting_url,
            "SHOPSYNC_DB_URL": self.accounting_url,
            "SHOPSYNC_SHOPS_DIR": str(self.shops_dir),
            "SHOPSYNC_LOCAL_DIR": str(self.local_dir),
            "SHOPSYNC_PHOTOS_DIR": str(self.local_dir / "photos"),
            "SHOPSYNC_EXTRACT_OVERLAP_SECONDS": "5",
            "PYTHONWARNINGS": "ignore",
            **self.extra_env,
        }

    def _shared_secret(self, name: str) -> str:
        path = self.home / f".{name}-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    # --- lifecycle -----------------------------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([AIRFLOW, *args], env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result

    def spawn(self, name: str, *args: str) -> None:
        log = open(self.home / "logs" / f"{name}.out", "w")   # noqa: SIM115 - kept open while the process runs
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def start(self) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self.airflow("db", "migrate")
        self.timings["db migrate"] = time.perf_counter() - started
        started = time.perf_counter()
        self.spawn("api-server", "api-server", "--port", str(self.port))
        self.spawn("scheduler", "scheduler")
        self.spawn("dag-processor", "dag-processor")
        self.spawn("triggerer", "triggerer")
        for number in range(1, self.workers + 1):
            self.spawn(f"worker{number}", "celery", "worker", "--celery-hostname", f"worker{number}@%h",
                       "--concurrency", "2")
        self.wait_healthy()
        self.timings["processes healthy"] = time.perf_counter() - started

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)      # children a graceful stop left behind

    def __enter__(self) -> AirflowCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.home / "logs" / f"{name}.out"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def all_log_tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_tail(name, 25)}" for name in self.processes)

    # --- REST API -------------------------------------------------------------------------------

    def wait_healthy(self, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            try:
                last = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
                if all((last.get(part) or {}).get("status") == "healthy" for part in parts):
                    return last
            except (requests.RequestException, ValueError):
                pass
            time.sleep(2)
        raise RuntimeError(f"Airflow not healthy after {timeout} s: {last}\n{self.all_log_tails()}")

    def token(self) -> str:
        if self._token is None:
            passwords_file = self.home / "simple_auth_manager_passwords.json.generated"
            password = json.loads(passwords_file.read_text())["admin"]
            response = requests.post(f"{self.base_url}/auth/token", json={"username": "admin", "password": password},
                                     timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.base_url}/api/v2{path}",
                                    headers={"Authorization": f"Bearer {self.token()}"}, timeout=60, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:1000]}")
        return response.json() if response.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            known = {dag["dag_id"] for dag in self.api("GET", "/dags", params={"limit": 100})["dags"]}
            if set(dag_ids) <= known:
                return
            time.sleep(2)
        raise RuntimeError(f"DAGs {dag_ids} not parsed after {timeout} s\n{self.log_tail('dag-processor')}")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "run_after"})["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)
        raise RuntimeError(f"{dag_id} {run_id} not finished after {timeout} s\n{self.all_log_tails()}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})[
            "task_instances"]


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
