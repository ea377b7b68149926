"""Pytest fixtures for the fake carrier servers: `nova_poshta_api` and `ukrposhta_api` (one started server per
test, stopped at its end). Registered in tests/conftest.py like fake_channels.py; a fake as its own process:
fake_channels.start_fake_process("nova_poshta" | "ukrposhta", state_file).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fake_nova_poshta import FakeNovaPoshta
    from fake_ukrposhta import FakeUkrposhta


@pytest.fixture
def nova_poshta_api() -> Iterator[FakeNovaPoshta]:
    from fake_nova_poshta import FakeNovaPoshta

    server = FakeNovaPoshta().start()
    yield server
    server.stop()


@pytest.fixture
def ukrposhta_api() -> Iterator[FakeUkrposhta]:
    from fake_ukrposhta import FakeUkrposhta

    server = FakeUkrposhta().start()
    yield server
    server.stop()
