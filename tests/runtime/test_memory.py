"""Memory settings are applied by entry points, never by importing a module."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopsync.runtime.memory import gc_paused

ROOT = Path(__file__).resolve().parents[2]


def arrow_pool_after(code: str) -> str:
    """The backend of Arrow's memory pool in a fresh process after `code` ran."""
    env = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"}
    env["PYTHONPATH"] = str(ROOT / "plugins")
    program = f"{code}\nimport pyarrow as pa\nprint(pa.default_memory_pool().backend_name)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def default_pool() -> str:
    pool = arrow_pool_after("")
    if pool == "jemalloc":
        pytest.fail("this pyarrow's default pool is already jemalloc: the tests below could not tell")
    return pool


def test_importing_the_catalog_leaves_arrows_allocator_alone(default_pool: str) -> None:
    assert arrow_pool_after("import shopsync.catalog.pipeline, shopsync.catalog.snapshot") == default_pool


def test_the_entry_point_call_chooses_jemalloc(default_pool: str) -> None:
    code = "from shopsync.runtime.memory import use_jemalloc_for_arrow\nuse_jemalloc_for_arrow()"

    assert arrow_pool_after(code) == "jemalloc"


def test_the_cli_chooses_jemalloc(default_pool: str) -> None:
    code = "import contextlib, io\nfrom shopsync.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n" \
           "    main(['shops'])"

    assert arrow_pool_after(code) == "jemalloc"


def test_gc_paused_pauses_the_collector_and_resumes_it() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with gc_paused(when=False):
        assert gc.isenabled()
    assert gc.isenabled()
