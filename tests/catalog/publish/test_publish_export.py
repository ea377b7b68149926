"""The catalog export publishing to a real FTP server: photos are remembered per destination, sets complete."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopsync.catalog import pipeline
from shopsync.catalog.run import ExportRun
from shopsync.core.config import ShopSettings
from shopsync.seed import seed_database

if TYPE_CHECKING:
    from local_servers import FtpServer


def ftp_shop(path: str, local_dir: Path) -> ShopSettings:
    return ShopSettings.model_validate({
        "id": "demo", "name": "Демо", "url": "https://demo.example", "warehouses": [1, 2],
        "feeds": [{"profile": "rozetka_yml"}, {"profile": "customers_csv"}],
        "destination": {"kind": "ftp", "path": path, "conn_id": "shop_ftp"},
        "orders_inbox": {"kind": "local", "path": str(local_dir / "inbox")},
    })


def export(engine, settings: ShopSettings, end: datetime) -> dict:
    return pipeline.run_export(engine, ExportRun(shop=settings, interval_start=end - timedelta(hours=1),
                                                      interval_end=end))


def photos_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "photos").rglob("*") if p.is_file())


def assert_complete(root: Path) -> dict:
    manifest = json.loads((root / "manifest.json").read_text())
    for entry in manifest["files"]:
        assert hashlib.sha256((root / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert not [p for p in root.rglob("*") if ".part" in p.name]
    return manifest


@pytest.mark.slow
def test_moving_a_remote_destination_sends_the_photos_again(
    engine, local_dir: Path, ftp_server: FtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", ftp_server.uri)
    seed_database(engine, goods=40, seed=7)
    end = datetime.now(UTC).replace(microsecond=0)

    first = export(engine, ftp_shop("/site-a", local_dir), end)
    second = export(engine, ftp_shop("/site-b", local_dir), end + timedelta(minutes=5))

    site_a, site_b = ftp_server.home / "site-a", ftp_server.home / "site-b"
    assert first["seconds_by_stage"]["publish"] is not None
    assert photos_under(site_a) and photos_under(site_b) == photos_under(site_a)
    assert assert_complete(site_b)["database_position"]["goods"]
    assert assert_complete(site_a)["files"]
    assert second["rejected"] == first["rejected"]
    # the same destination again: nothing new to send; a third place gets them all
    same = ExportRun(shop=ftp_shop("/site-b", local_dir), interval_start=end, interval_end=end)
    assert pipeline.publish_photos(same) == 0
    moved = ExportRun(shop=ftp_shop("/site-c", local_dir), interval_start=end, interval_end=end)
    assert pipeline.publish_photos(moved) == len(photos_under(site_a))
