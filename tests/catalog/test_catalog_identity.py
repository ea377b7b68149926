"""When an incremental export cannot be trusted (settings, database identity), what change capture sees,
and what a cp1251 feed does with what it cannot hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from shopsync.catalog import extract, identity
from shopsync.catalog.feeds.base import TextEncoder
from shopsync.catalog.validation.read_back import read_feed
from shopsync.core.config import ShopSettings, load_shop
from shopsync.core.errors import ConfigError
from shopsync.seed import seed_database

BASE = {
    "id": "demo", "name": "Демо", "url": "https://demo.example", "warehouses": [1, 2],
    "feeds": [{"profile": "torgsoft_csv"}, {"profile": "rozetka_yml"}],
    "destination": {"kind": "local", "path": "/tmp/published"},
    "orders_inbox": {"kind": "local", "path": "/tmp/inbox"},
}


def fingerprint(resolved: list[int] | None = None, **overrides) -> str:
    shop = ShopSettings.model_validate({**BASE, **overrides})
    return identity.content_fingerprint(shop, resolved if resolved is not None else shop.warehouses)


@pytest.mark.parametrize("overrides", [
    {"schedule": "*/5 * * * *"}, {"alert_emails": ["ops@example.com"]}, {"owner": "someone"},
    {"on_bad_item": "fail"}, {"destination": {"kind": "local", "path": "/srv/www"}},
])
def test_settings_that_do_not_shape_a_feed_keep_the_fingerprint(overrides) -> None:
    assert fingerprint(**overrides) == fingerprint()


@pytest.mark.parametrize("overrides", [
    {"warehouses": [1]}, {"currency": "USD"}, {"category_map": "prom"}, {"name": "Інша назва"},
    {"feeds": [{"profile": "torgsoft_csv", "columns": ["GoodID", "GoodName"]}, {"profile": "rozetka_yml"}]},
    {"feeds": [{"profile": "torgsoft_csv", "encoding": "cp1251"}, {"profile": "rozetka_yml"}]},
    {"photos": {"sizes": [{"name": "big", "width": 900, "height": 900}]}},
    {"photos": {"detail_size": "catalog"}},
])
def test_settings_that_shape_a_feed_change_the_fingerprint(overrides) -> None:
    assert fingerprint(**overrides) != fingerprint()


def test_the_resolved_warehouses_are_part_of_the_fingerprint() -> None:
    """A shop selling from every active warehouse: a warehouse switched off changes its stock."""
    assert fingerprint([1, 2, 3], warehouses=[]) != fingerprint([1, 2], warehouses=[])


def recorded(**changes) -> dict:
    return {"content_settings": "f", "database": {"epoch": "e", "change_log_id": 10}, **changes}


@pytest.mark.parametrize(("state", "current", "reason"), [
    (recorded(), {"epoch": "e", "change_log_id": 10}, None),
    (recorded(), {"epoch": "e", "change_log_id": 99}, None),
    (recorded(content_settings="other"), {"epoch": "e", "change_log_id": 10}, "content settings"),
    (recorded(), {"epoch": "new", "change_log_id": 10}, "truncated, reseeded or replaced"),
    (recorded(), {"epoch": "e", "change_log_id": 9}, "went backwards"),
    (recorded(force_full="feeds disagreed"), {"epoch": "e", "change_log_id": 10}, "feeds disagreed"),
    ({"merged_until": "2026-01-01T00:00:00+00:00"}, {"epoch": "e", "change_log_id": 10}, "content settings"),
])
def test_full_rebuild_reason(state, current, reason) -> None:
    found = identity.full_rebuild_reason(state, "f", current)
    assert found == reason if reason is None else reason in found


# --- the database side -----------------------------------------------------------------------------------

def database_identity(engine) -> dict:
    with engine.connect() as conn:
        return identity.database_identity(conn)


def execute(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


@pytest.fixture
def seeded(engine, local_dir):
    seed_database(engine, goods=60, seed=3)
    return engine


def test_a_truncate_of_any_accounting_table_changes_the_epoch_and_updates_do_not(seeded) -> None:
    before = database_identity(seeded)
    execute(seeded, "UPDATE stock SET on_hand = on_hand + 1 WHERE good_id = 1")
    after_update = database_identity(seeded)
    assert after_update["epoch"] == before["epoch"] and after_update["change_log_id"] > before["change_log_id"]
    execute(seeded, "TRUNCATE wholesale_tiers")
    assert database_identity(seeded)["epoch"] not in (None, before["epoch"])


def test_a_reseed_changes_the_epoch_and_restarts_change_log(seeded) -> None:
    before = database_identity(seeded)
    seed_database(seeded, goods=10, seed=3)
    after = database_identity(seeded)
    assert after["epoch"] != before["epoch"]
    assert identity.full_rebuild_reason(
        {"content_settings": "f", "database": before}, "f", after) is not None


def changed_goods(engine, since: datetime) -> list[int]:
    with engine.connect() as conn:
        return extract.changed_good_ids(conn, since, since + timedelta(days=1))


def test_renaming_a_characteristic_kind_changes_every_good_that_carries_it(seeded) -> None:
    with seeded.connect() as conn:
        kind, goods = conn.execute(sa.text(
            "SELECT kind_id, array_agg(DISTINCT good_id ORDER BY good_id) FROM good_characteristics"
            " GROUP BY kind_id ORDER BY count(*) DESC, kind_id LIMIT 1")).one()
    since = datetime.now(UTC)
    execute(seeded, "UPDATE characteristic_kinds SET name = name || ' (нова)' WHERE id = :k", k=kind)
    assert changed_goods(seeded, since) == goods


def test_renaming_a_model_group_changes_its_goods(seeded) -> None:
    with seeded.connect() as conn:
        group, goods = conn.execute(sa.text(
            "SELECT model_group_id, array_agg(id ORDER BY id) FROM goods WHERE model_group_id IS NOT NULL"
            " GROUP BY model_group_id ORDER BY model_group_id LIMIT 1")).one()
    since = datetime.now(UTC)
    execute(seeded, "UPDATE model_groups SET name = 'Нова назва' WHERE id = :g", g=group)
    assert changed_goods(seeded, since) == goods


# --- cp1251: what the code page lacks ---------------------------------------------------------------------

def test_the_ukrainian_apostrophe_becomes_the_cp1251_one_and_the_rest_is_counted_with_examples() -> None:
    encoder = TextEncoder("cp1251")
    assert encoder.encode("м\u02bcята, п\u2019ять, 😀 і ★") == "м’ята, п’ять, ? і ?".encode("cp1251")
    assert encoder.encode("м\u02bcята")[1:2] == b"\x92"
    assert encoder.replaced == 2
    assert encoder.examples == ["U+1F600 😀", "U+2605 ★"]


def test_a_cp1251_csv_with_a_field_over_the_csv_module_limit_reads_back() -> None:
    huge = "Опис " * 220_000                                   # about 1 MB, the csv module's limit is 128 KiB
    data = ('"GoodID";"GoodName";"RetailPrice";"WarehouseQuantity";"Description"\r\n'
            f'"1";"Туфлі";"10.00";"3";"{huge}"\r\n').encode("cp1251")
    parsed = read_feed(data, "torgsoft_csv", "cp1251")
    assert parsed.frame["offer_id"].tolist() == ["1"] and not parsed.malformed_rows


def test_a_detail_size_that_is_not_a_size_is_a_one_line_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump({**BASE, "photos": {"detail_size": "huge"}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"demo\.yaml: photos: detail_size 'huge' is not one of the sizes"):
        load_shop(path)
