"""The rooms' directions: the import-linter contracts in pyproject.toml hold (and can fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(plugins: Path) -> subprocess.CompletedProcess[str]:
    # this checkout's package (or a copy of it), not whichever copy the virtualenv has installed
    env = {**os.environ, "PYTHONPATH": str(plugins)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT / "plugins")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def broken_copy(tmp_path: Path, module: str, line: str) -> Path:
    plugins = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins" / "shopsync", plugins / "shopsync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = plugins / "shopsync" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return plugins


def test_a_pipeline_importing_airflow_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "catalog/model.py", "import airflow  # noqa"))

    assert result.returncode != 0
    assert "Only shopsync.airflow (and dags/) import Airflow BROKEN" in result.stdout


def test_transport_importing_the_catalog_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "transport/local.py", "import shopsync.catalog.model  # noqa"))

    assert result.returncode != 0
    assert "core, runtime and transport import no pipeline and no glue BROKEN" in result.stdout


def test_orders_importing_the_catalog_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "orders/model.py", "import shopsync.catalog.model  # noqa"))

    assert result.returncode != 0
    assert "do not import each other" in result.stdout and "BROKEN" in result.stdout


def test_a_channel_importing_the_orders_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "channels/prom.py", "import shopsync.orders.model  # noqa"))

    assert result.returncode != 0
    assert "channels know transport, core and stock, never a pipeline" in result.stdout and "BROKEN" in result.stdout


def test_a_carrier_importing_the_orders_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "carriers/base.py", "import shopsync.orders.model  # noqa"))

    assert result.returncode != 0
    assert "carriers know transport and core, never a pipeline" in result.stdout and "BROKEN" in result.stdout


def test_a_cycle_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(broken_copy(tmp_path, "core/errors.py", "import shopsync.core.config  # noqa"))

    assert result.returncode != 0
    assert "No import cycles" in result.stdout and "BROKEN" in result.stdout


def test_inside_shopsync_airflow_import_airflow_is_apache_airflow() -> None:
    # the room's name does not shadow the top-level package: Python 3 imports are absolute
    from shopsync.airflow.tasks import fail_fast_policy

    policy = fail_fast_policy()

    assert type(policy).__module__.startswith("airflow.sdk")
