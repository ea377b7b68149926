"""The per-good cache of the catalog pass fingerprints the code that decides a good's bytes or its read-back,
and nothing else: editing the report (or the GX suite) keeps every shop's cache, editing a renderer drops it."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from shopsync.catalog.render.cache import CATALOG_DIR, RENDERING_MODULES, code_fingerprint

# Catalog modules that rendering modules import but whose code decides no cached row, and why.
NOT_RENDERING = {
    "workspace.py": "where the files go, not what is in them",
    "render/read_back_worker.py": "carries read-back jobs to another process; the parsing is validation/read_back.py",
    "feeds/companions.py": "companion feeds (customers, prices, certificates) are not cached per good",
    "feeds/woocommerce_csv.py": "written per good, outside the cached columnar pass",
    "feeds/shape.py": "the shapes writers declare: which route a feed takes, not its bytes",
}


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edited(catalog_dir: Path, module: str) -> dict[str, str]:
    path = catalog_dir / module
    path.write_text(path.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    return code_fingerprint(catalog_dir)


@pytest.mark.parametrize("module", ["validation/report.py", "validation/suite.py", "validation/results.py",
                                    "validation/checks.py", "validation/database.py"])
def test_editing_validation_that_renders_nothing_keeps_the_fingerprint(catalog_copy: Path, module: str) -> None:
    before = code_fingerprint(catalog_copy)
    assert edited(catalog_copy, module) == before


@pytest.mark.parametrize("module", RENDERING_MODULES)
def test_editing_a_rendering_module_changes_the_fingerprint(catalog_copy: Path, module: str) -> None:
    before = code_fingerprint(catalog_copy)
    assert edited(catalog_copy, module) != before


def test_the_installed_package_is_fingerprinted_by_default(catalog_copy: Path) -> None:
    assert code_fingerprint() == code_fingerprint(catalog_copy)


def catalog_imports(module: str) -> set[str]:
    """The catalog modules (paths under catalog/) that `module` imports, at its top or inside functions."""
    tree = ast.parse((CATALOG_DIR / module).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    found = set()
    for name in names:
        if not name.startswith("shopsync.catalog."):
            continue
        relative = Path(*name.split(".")[2:])
        for candidate in (relative.with_suffix(".py"), relative / "__init__.py"):
            if (CATALOG_DIR / candidate).is_file():
                found.add(candidate.as_posix())
    return found


@pytest.mark.parametrize("module", RENDERING_MODULES)
def test_what_a_rendering_module_imports_is_fingerprinted_or_named_as_not_rendering(module: str) -> None:
    unaccounted = catalog_imports(module) - set(RENDERING_MODULES) - set(NOT_RENDERING)
    assert not unaccounted, f"{module} imports {sorted(unaccounted)}: add to RENDERING_MODULES or NOT_RENDERING"
