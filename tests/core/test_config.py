"""Shop settings: every value that becomes a path stays in its place; schedules are cron expressions Airflow runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from shop_files import shop_settings, write_shop

from shopsync.core.config import DEFAULT_FEED_FILES, check_shop_id, get_shop, load_shop, scan_shops
from shopsync.core.errors import ConfigError


def load_error(tmp_path: Path, data: dict) -> str:
    path = write_shop(tmp_path, data)
    with pytest.raises(ConfigError) as raised:
        load_shop(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


HOSTILE_NAMES = [
    "../escaped.csv", "../../../../tmp/escaped.csv", "/tmp/escaped.csv", "sub/feed.csv", "..\\escaped.csv",
    "C:escaped.csv", "..", ".", ".hidden.csv", "manifest.json", "MANIFEST.JSON", "photos", "Photos", "",
    "feed\n.csv", "x" * 256,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_feed_file_that_is_not_a_plain_name_names_file_and_key(tmp_path: Path, name: str) -> None:
    message = load_error(tmp_path, shop_settings(**{"feeds.1": {"profile": "rozetka_yml", "file": name}}))
    assert ": feeds.1.file: " in message


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_photo_size_name_that_is_not_a_plain_name_names_file_and_key(tmp_path: Path, name: str) -> None:
    message = load_error(tmp_path, shop_settings(**{"photos.sizes.0.name": name}))
    assert ": photos.sizes.0.name: " in message


@pytest.mark.parametrize(("feeds", "key"), [
    ([{"profile": "yml", "file": "offers.xml"}, {"profile": "prom_yml", "file": "Offers.XML"}], "feeds.1.file"),
    ([{"profile": "yml", "file": "prom.xml"}, {"profile": "prom_yml"}], "feeds.1.file"),     # another's default
    ([{"profile": "prom_yml", "delta": True}, {"profile": "yml", "file": "prom.delta.xml"}], "feeds.1.file"),
])
def test_two_feeds_publishing_one_file_name_the_second(tmp_path: Path, feeds: list[dict], key: str) -> None:
    message = load_error(tmp_path, shop_settings(feeds=feeds))
    assert f": {key}: " in message
    assert "also published by feed 0" in message


def test_two_photo_sizes_of_one_name_ignoring_case(tmp_path: Path) -> None:
    sizes = [{"name": "detail", "width": 100, "height": 100}, {"name": "Detail", "width": 200, "height": 200}]
    message = load_error(tmp_path, shop_settings(**{"photos.sizes": sizes}))
    assert ": photos.sizes.1.name: 'Detail' is also the name of size 0" in message


def test_plain_names_in_any_language_are_accepted(tmp_path: Path) -> None:
    data = shop_settings(feeds=[{"profile": "yml", "file": "товари магазину.xml"}, {"profile": "prom_yml"}])
    data["photos"]["sizes"] = [{"name": "великі-1200", "width": 1200, "height": 1200}]
    shop = load_shop(write_shop(tmp_path, data))
    assert [feed.file_name for feed in shop.feeds] == ["товари магазину.xml", "prom.xml"]


def test_default_file_names_are_the_writers(tmp_path: Path) -> None:
    from shopsync.catalog.feeds import feed_file_name
    from shopsync.core.config import delta_name

    shop = load_shop(write_shop(tmp_path, shop_settings(
        feeds=[{"profile": profile, "delta": True} for profile in DEFAULT_FEED_FILES])))
    for feed in shop.feeds:
        assert feed.file_name == feed_file_name(feed)
        assert feed.published_names == [feed_file_name(feed), delta_name(feed_file_name(feed))]
    assert (delta_name("prom.xml"), delta_name("TSGoods.trs"), delta_name("feed")) == (
        "prom.delta.xml", "TSGoods.delta.trs", "feed.delta")


@pytest.mark.parametrize("shop_id", ["../demo", "demo/../../etc", "/etc/passwd", "Demo", "demo.yaml", "", " demo",
                                     "demo\n", "x" * 41])
def test_a_shop_id_that_is_not_a_slug_is_refused_before_any_file_is_read(tmp_path: Path, shop_id: str) -> None:
    with pytest.raises(ConfigError, match="is not a shop id"):
        check_shop_id(shop_id)
    with pytest.raises(ConfigError, match="is not a shop id"):
        get_shop(shop_id, tmp_path / "no such directory")


def test_get_shop_does_not_read_a_file_outside_the_shops_directory(tmp_path: Path) -> None:
    shops = tmp_path / "shops"
    shops.mkdir()
    write_shop(tmp_path, shop_settings("outside"))     # a valid shop file one level up
    with pytest.raises(ConfigError, match="is not a shop id"):
        get_shop("../outside", shops)


@pytest.mark.parametrize("schedule", ["61 * * * *", "0 25 * * *", "0 * * *", "every hour", "* * * * * *",
                                      "0 0 * * 8", "0 0 31 2 *", "@minutely", ""])
def test_an_invalid_cron_schedule_names_file_and_key(tmp_path: Path, schedule: str) -> None:
    assert ": schedule: " in load_error(tmp_path, shop_settings(schedule=schedule))
    assert ": orders_inbox.schedule: " in load_error(tmp_path, shop_settings(**{"orders_inbox.schedule": schedule}))


@pytest.mark.parametrize("schedule", ["0 * * * *", "*/5 * * * *", "15 6-22 * * mon-fri", "0 0 29 2 *", "@hourly",
                                      "@daily", "@quarterly"])
def test_valid_cron_schedules_are_accepted(tmp_path: Path, schedule: str) -> None:
    shop = load_shop(write_shop(tmp_path, shop_settings(schedule=schedule, **{"orders_inbox.schedule": schedule})))
    assert shop.schedule == shop.orders_inbox.schedule == schedule


def test_scan_shops_keeps_the_good_shops_and_reports_each_bad_file(tmp_path: Path) -> None:
    write_shop(tmp_path, shop_settings("good"))
    write_shop(tmp_path, shop_settings("bad_cron", schedule="61 * * * *"))
    write_shop(tmp_path, shop_settings("bad_file", **{"feeds.0.file": "../x.trs"}))
    shops, problems = scan_shops(tmp_path)
    assert [shop.id for shop in shops] == ["good"]
    assert [str(problem).split(": ")[:2] for problem in problems] == [
        [str(tmp_path / "bad_cron.yaml"), "schedule"], [str(tmp_path / "bad_file.yaml"), "feeds.0.file"]]
