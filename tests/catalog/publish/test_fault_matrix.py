"""Fault matrix: `shopsync export` killed with SIGKILL at random points, round after round, on a small catalog
whose stock and prices change between rounds. After every round the destination shows one complete set (every
file matches manifest.json's sha256) that is never older than the one before; after every run that finishes,
no temporary file is left anywhere (destination, its sets, the shop's workspace).

The random seed is printed (run with -s to see it) and can be set with SHOPSYNC_FAULT_SEED.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from shopsync.catalog.position import older_datasets
from shopsync.seed import seed_database

if TYPE_CHECKING:
    from local_servers import FtpServer

ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 20
REMOTE_ROUNDS = 4                   # every one killed during its publish (the remote kind's part that differs)
COMPLETE_EVERY = {"local": 5, "ftp": 2}     # an export left to finish after every this many killed ones
GOODS = 40
SEED = int(os.environ.get("SHOPSYNC_FAULT_SEED", "20261206"))
TEMPORARY_MARKS = (".part", ".building-", ".next-", ".tmp", "publish-journal.")

SHOP = """
id: fm
name: "Fault matrix"
url: https://fm.example
warehouses: [1, 2]
feeds:
  - {{profile: torgsoft_csv, delta: true}}
  - {{profile: rozetka_yml}}
  - {{profile: customers_csv}}
  - {{profile: gift_certificates_csv}}
photos:
  sizes:
    - {{name: catalog, width: 80, height: 80}}
    - {{name: detail, width: 160, height: 160}}
destination: {destination}
orders_inbox: {{kind: local, path: {inbox}}}
"""


class Export:
    def __init__(self, tmp_path: Path, db_url: str, destination: str) -> None:
        shops = tmp_path / "shops"
        shops.mkdir()
        (shops / "fm.yaml").write_text(SHOP.format(destination=destination, inbox=tmp_path / "inbox"))
        self.env = {**os.environ, "SHOPSYNC_SHOPS_DIR": str(shops), "SHOPSYNC_DB_URL": db_url,
                    "PYTHONPATH": str(ROOT / "plugins")}
        self.workspace = Path(os.environ["SHOPSYNC_LOCAL_DIR"]) / "shops" / "fm"

    def start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "shopsync.cli", "export", "--shop", "fm"], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    def run(self) -> float:
        started = time.perf_counter()
        process = self.start()
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output.decode()[-3000:]
        return time.perf_counter() - started

    def manifests_written(self) -> set[Path]:
        return set(self.workspace.glob("runs/*/out/manifest.json"))


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the export and its helper processes (its own session): no clean-up runs anywhere."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=60)


def kill_at_random(export: Export, rng: random.Random, full_run_seconds: float, near_publish: bool) -> str:
    """Start an export and kill it at a random moment: anywhere in the run, or within 40 ms after its manifest
    was written (the publish itself). Returns where it died."""
    before = export.manifests_written()
    process = export.start()
    started = time.perf_counter()
    if near_publish:
        while process.poll() is None and not (export.manifests_written() - before):
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.04))
    else:
        time.sleep(rng.uniform(0, full_run_seconds))
    finished = process.poll() is not None
    kill(process)
    return "finished" if finished else f"killed after {time.perf_counter() - started:.2f} s"


def change_the_catalog(engine, rng: random.Random) -> None:
    with engine.begin() as conn:
        for _ in range(3):
            conn.execute(sa.text("UPDATE stock SET on_hand = on_hand + :n WHERE good_id = :g"),
                         {"n": rng.randint(1, 9), "g": rng.randint(1, GOODS)})
            conn.execute(sa.text("UPDATE prices SET price = price + :n WHERE good_id = :g"),
                         {"n": rng.randint(1, 5), "g": rng.randint(1, GOODS)})


def complete_set(files: dict[str, bytes]) -> dict:
    """The manifest of the set `files` (name -> bytes) shows, checked: every file it names matches."""
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(files[entry["name"]]).hexdigest() == entry["sha256"], entry["name"]
    return manifest


def local_files(path: Path) -> dict[str, bytes]:
    root = Path(os.path.realpath(path))          # a reader resolves the path once, then reads that set
    return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}


def temporary_files(*roots: Path) -> list[str]:
    return sorted(str(p) for root in roots if root.exists() for p in root.rglob("*")
                  if any(mark in p.name for mark in TEMPORARY_MARKS))


@pytest.fixture
def db_url_for_children(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "ftp"])
def test_exports_killed_at_random_points_leave_complete_sets_and_no_temporary_files(
    kind: str, engine, db_url_for_children: str, local_dir: Path, tmp_path: Path, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    print(f"\nfault matrix ({kind}): random seed {SEED} (set SHOPSYNC_FAULT_SEED to repeat another)")
    rng = random.Random(f"{SEED}-{kind}")
    seed_database(engine, goods=GOODS, seed=SEED % 1000)
    if kind == "local":
        published = tmp_path / "published"
        destination = f"{{kind: local, path: {published}}}"
        read_set = lambda: local_files(published)                          # noqa: E731
        destination_roots = [tmp_path / "published.sets"]
    else:
        server: FtpServer = request.getfixturevalue("ftp_server")
        monkeypatch.setenv("AIRFLOW_CONN_FM_FTP", server.uri)
        published = server.home / "fm"
        destination = "{kind: ftp, path: /fm, conn_id: fm_ftp}"
        read_set = lambda: {p.name: p.read_bytes() for p in published.iterdir() if p.is_file()}  # noqa: E731
        destination_roots = [published]
    export = Export(tmp_path, db_url_for_children, destination)
    full_run_seconds = export.run()
    positions = [complete_set(read_set())["database_position"]]
    rounds = ROUNDS if kind == "local" else REMOTE_ROUNDS
    for round_number in range(1, rounds + 1):
        change_the_catalog(engine, rng)
        near_publish = kind != "local" or round_number % 2 == 0
        where = kill_at_random(export, rng, full_run_seconds, near_publish=near_publish)
        context = f"seed {SEED}, round {round_number}: {where}"
        if kind == "local" or not list(export.workspace.glob("publish-journal.*")):
            manifest = complete_set(read_set())                            # at once, before any other run
            assert not older_datasets(manifest["database_position"], positions[-1]), context
            positions.append(manifest["database_position"])
        if round_number % COMPLETE_EVERY[kind] == 0 or round_number == rounds:
            export.run()                                                   # the next run, not killed
            manifest = complete_set(read_set())
            assert not older_datasets(manifest["database_position"], positions[-1]), context
            positions.append(manifest["database_position"])
            assert temporary_files(*destination_roots, export.workspace) == [], context
    with engine.connect() as conn:
        stock = conn.execute(sa.text("SELECT count(*) FROM goods")).scalar()
    assert stock == GOODS


@pytest.mark.slow
def test_the_cli_holds_back_an_emptied_catalog_until_allow_shrink(
    engine, db_url_for_children: str, local_dir: Path, tmp_path: Path
) -> None:
    from shopsync import testing

    seed_database(engine, goods=GOODS, seed=5)
    published = tmp_path / "published"
    export = Export(tmp_path, db_url_for_children, f"{{kind: local, path: {published}}}")
    export.run()
    live = local_files(published)
    testing.truncate_all(engine)

    held = subprocess.run([sys.executable, "-m", "shopsync.cli", "export", "--shop", "fm"], env=export.env,
                          capture_output=True, text=True, timeout=300)
    assert held.returncode == 2 and "Traceback" not in held.stderr
    assert "ShrinkGuard" not in held.stderr and "-> 0 rows (-100.0 %)" in held.stderr
    assert "shopsync export --shop fm --allow-shrink" in held.stderr
    assert local_files(published) == live

    allowed = subprocess.run([sys.executable, "-m", "shopsync.cli", "export", "--shop", "fm", "--allow-shrink"],
                             env=export.env, capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stderr
    rows = {entry["name"]: entry["rows"] for entry in complete_set(local_files(published))["files"]}
    assert rows["rozetka.xml"] == 0
