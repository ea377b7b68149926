"""Pytest fixtures for the fake channel servers: `prom_api`, `rozetka_api`, `woocommerce_api` (one started
server per test, stopped at its end) and `start_fake_process` for a fake as its own process.

How they reach every test: tests/conftest.py puts tests/fakes on sys.path and names this module in
`pytest_plugins`, so any test anywhere under tests/ can ask for the fixtures and `import fake_prom` (for
its TOKEN, FakeProm, ...). A conftest.py in tests/fakes would only serve tests/fakes itself; the modules
have unique names because tests run in rootdir "prepend" import mode without __init__ files.
aiohttp is imported only when a fixture is used, so other test runs do not pay for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fake_prom import FakeProm
    from fake_rozetka import FakeRozetka
    from fake_woocommerce import FakeWooCommerce

FAKES_DIR = Path(__file__).resolve().parent
SCRIPTS = {"prom": "fake_prom.py", "rozetka": "fake_rozetka.py", "woocommerce": "fake_woocommerce.py",
           "nova_poshta": "fake_nova_poshta.py", "ukrposhta": "fake_ukrposhta.py"}


@pytest.fixture
def prom_api() -> Iterator[FakeProm]:
    from fake_prom import FakeProm

    server = FakeProm().start()
    yield server
    server.stop()


@pytest.fixture
def rozetka_api() -> Iterator[FakeRozetka]:
    from fake_rozetka import FakeRozetka

    server = FakeRozetka().start()
    yield server
    server.stop()


@pytest.fixture
def woocommerce_api() -> Iterator[FakeWooCommerce]:
    from fake_woocommerce import FakeWooCommerce

    server = FakeWooCommerce().start()
    yield server
    server.stop()


@dataclass
class FakeProcess:
    """A fake running as its own process (for tests with a real scheduler): its state file is rewritten
    at each change, its `/_fake/` endpoints add orders, queue faults and move its clock."""

    process: subprocess.Popen[str]
    base_url: str
    state_file: Path

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_fake_process(channel: str, state_file: Path, port: int = 0) -> FakeProcess:
    """Start `python tests/fakes/fake_<channel>.py --port P --state-file X`; wait for its base URL."""
    command = [sys.executable, str(FAKES_DIR / SCRIPTS[channel]), "--port", str(port), "--state-file", str(state_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"fake {channel} did not start (exit code {process.wait(10)})")
    return FakeProcess(process, base_url, state_file)


@pytest.fixture
def fake_process(tmp_path: Path) -> Iterator[Any]:
    """`fake_process("prom")` starts that fake as a process (state in tmp_path); all are stopped at the end."""
    started: list[FakeProcess] = []

    def start(channel: str) -> FakeProcess:
        started.append(start_fake_process(channel, tmp_path / f"{channel}-state.json"))
        return started[-1]

    yield start
    for process in started:
        process.stop()
