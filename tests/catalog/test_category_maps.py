"""Categories per marketplace: each marketplace feed carries its own map's ids, a channel without rows falls back
to the shop-level map as a whole, unmapped categories are listed with their offers, and `block` stops the
publish."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree
from pydantic import ValidationError
from test_pipeline import execute, export, shop

from shopsync.catalog import identity, pipeline
from shopsync.catalog.category_maps import UnmappedCategoriesError, with_own_map
from shopsync.catalog.model import Category
from shopsync.core.channel_settings import CHANNEL_KINDS
from shopsync.core.config import FEED_PROFILES, PROFILE_CHANNELS, ShopSettings
from shopsync.core.errors import PermanentError
from shopsync.seed import seed_database

GOODS = 60
FEEDS = [{"profile": "rozetka_yml"}, {"profile": "prom_yml"}, {"profile": "yml"}, {"profile": "woocommerce_csv"}]


@pytest.fixture
def seeded(engine, local_dir):
    seed_database(engine, goods=GOODS, seed=5)
    return engine


def settings(published: Path, *feed_changes: dict) -> ShopSettings:
    feeds = [dict(feed) for feed in FEEDS]
    for change in feed_changes:
        next(feed for feed in feeds if feed["profile"] == change["profile"]).update(change)
    return shop(published, feeds=feeds)


def copy_shop_map(engine, channel: str, prefix: str) -> None:
    """The channel's own map: every category the shop-level map maps, with the channel's prefix on our id."""
    execute(engine, "INSERT INTO shop_category_map (shop_id, category_id, external_id, external_name)"
                    " SELECT :key, category_id, :prefix || category_id, 'їхня ' || category_id"
                    " FROM shop_category_map WHERE shop_id = 'demo'", key=f"demo/{channel}", prefix=prefix)


def goods_categories(engine) -> Counter[int]:
    with engine.connect() as conn:
        return Counter(conn.execute(sa.text("SELECT category_id FROM goods")).scalars())


def prom_offers(published: Path) -> list[tuple[str, str | None]]:
    """(categoryId, portal_category_id) of every prom.xml offer."""
    return [(offer.findtext("categoryId"), offer.findtext("portal_category_id"))
            for offer in etree.parse(str(published / "prom.xml")).iter("offer")]


def rozetka_categories(published: Path) -> dict[str, str | None]:
    """rz_id of each category of rozetka.xml, by our id."""
    return {category.get("id"): category.get("rz_id")
            for category in etree.parse(str(published / "rozetka.xml")).iter("category")}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_prom_and_rozetka_feeds_of_one_shop_carry_each_marketplace_own_ids(seeded, local_dir):
    copy_shop_map(seeded, "prom", "P")
    copy_shop_map(seeded, "rozetka", "R")
    published = local_dir / "published"

    summary = export(seeded, settings(published), now(), full=True)

    offers = prom_offers(published)
    assert offers and all(portal == f"P{category}" for category, portal in offers)
    mapped = {our: theirs for our, theirs in rozetka_categories(published).items() if theirs}
    assert mapped and all(theirs == f"R{our}" for our, theirs in mapped.items())
    assert all(category.get("rz_id") is None and category.get("portal_id") is None
               for category in etree.parse(str(published / "yml.xml")).iter("category"))
    assert summary["unmapped_categories"] == {}


def test_a_channel_without_rows_of_its_own_falls_back_to_the_shop_map_as_a_whole(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    published = local_dir / "published"
    shop_settings = settings(published)
    start = now()
    first = export(seeded, shop_settings, start, full=True)
    before = {name: (published / name).read_bytes() for name in ("prom.xml", "rozetka.xml", "woocommerce.csv")}
    assert first["unmapped_categories"] == {}
    assert all(theirs for _, theirs in prom_offers(published))        # the shop-level map, as before

    only = goods_categories(seeded).most_common(1)[0][0]
    execute(seeded, "INSERT INTO shop_category_map (shop_id, category_id, external_id)"
                    " VALUES ('demo/rozetka', :category, 'R-only')", category=only)
    second = export(seeded, shop_settings, start)

    assert second["feed_pass"] == "full"              # the pass cache was made with rozetka's other categories
    assert (published / "prom.xml").read_bytes() == before["prom.xml"]              # prom: still the shop map
    assert (published / "woocommerce.csv").read_bytes() == before["woocommerce.csv"]
    assert {our: theirs for our, theirs in rozetka_categories(published).items() if theirs} == {str(only): "R-only"}
    report = second["unmapped_categories"]["rozetka.xml"]
    assert report["map"] == "demo/rozetka" and report["policy"] == "warn"
    offered = {int(offer.findtext("categoryId")) for offer in etree.parse(str(published / "rozetka.xml")).iter("offer")}
    assert {entry["id"] for entry in report["categories"]} == offered - {only}
    assert "prom.xml" not in second["unmapped_categories"]

    window_start = datetime.now(UTC)
    execute(seeded, "UPDATE prices SET price = price + 1 WHERE good_id = 3 AND price_type_id = 1")
    third = export(seeded, shop_settings, start + timedelta(minutes=5), start=window_start)
    assert third["feed_pass"] == "incremental"        # the cache made with rozetka's own map serves again

    execute(seeded, "UPDATE shop_category_map SET external_id = 'R-two' WHERE shop_id = 'demo/rozetka'")
    fourth = export(seeded, shop_settings, start + timedelta(minutes=10), start=datetime.now(UTC))
    assert fourth["feed_pass"] == "full"
    assert rozetka_categories(published)[str(only)] == "R-two"


def test_unmapped_categories_are_listed_per_feed_with_their_offers(seeded, local_dir):
    published = local_dir / "published"
    category = goods_categories(seeded).most_common(1)[0][0]
    execute(seeded, "DELETE FROM shop_category_map WHERE category_id = :category", category=category)

    summary = export(seeded, settings(published, {"profile": "woocommerce_csv", "unmapped_categories": "warn"}),
                     now(), full=True)

    unmapped = summary["unmapped_categories"]
    assert set(unmapped) == {"prom.xml", "rozetka.xml", "woocommerce.csv"}     # yml.xml reads no marketplace ids
    in_prom = sum(1 for our, _ in prom_offers(published) if our == str(category))
    with seeded.connect() as conn:
        names = conn.execute(sa.text(
            "WITH RECURSIVE up AS (SELECT id, parent_id, name, 0 AS depth FROM categories WHERE id = :c UNION ALL"
            " SELECT p.id, p.parent_id, p.name, up.depth + 1 FROM categories p JOIN up ON p.id = up.parent_id)"
            " SELECT name FROM up ORDER BY depth DESC"), {"c": category}).scalars().all()
    assert unmapped["prom.xml"]["categories"] == [{"id": category, "path": " > ".join(names), "offers": in_prom}]
    assert unmapped["prom.xml"]["offers"] == in_prom and unmapped["prom.xml"]["map"] == "demo"
    assert unmapped["woocommerce.csv"]["categories"][0]["offers"] == woocommerce_items(published, seeded, category)
    lines = "\n".join(pipeline.summary_lines(summary))
    assert f"prom.xml: 1 categories with {in_prom:,} offers have no prom category id (map demo)" in lines
    assert "shopsync categories export --shop demo --channel prom" in lines


def woocommerce_items(published: Path, engine, category: int) -> int:
    """The products and variations woocommerce.csv has of goods in the category."""
    with engine.connect() as conn:
        goods = {str(good) for good in conn.execute(
            sa.text("SELECT id FROM goods WHERE category_id = :c"), {"c": category}).scalars()}
    rows = csv.DictReader(io.StringIO((published / "woocommerce.csv").read_text(encoding="utf-8")))
    return sum(1 for row in rows if row["Meta: _shopsync_good_id"] in goods)


def test_block_fails_the_build_naming_the_categories_and_publishes_nothing(seeded, local_dir):
    published = local_dir / "published"
    category = goods_categories(seeded).most_common(1)[0][0]
    execute(seeded, "DELETE FROM shop_category_map WHERE category_id = :category", category=category)

    with pytest.raises(UnmappedCategoriesError) as raised:
        export(seeded, settings(published, {"profile": "prom_yml", "unmapped_categories": "block"}), now(), full=True)

    assert isinstance(raised.value, PermanentError)
    message = str(raised.value)
    assert "prom.xml" in message and f"{category} " in message and "rozetka.xml" not in message   # rozetka: warn
    assert "shopsync categories export --shop demo --channel prom" in message
    assert not published.exists() or not any(published.iterdir())


# --- settings --------------------------------------------------------------------------------------------------

def test_the_profile_channel_table_names_known_profiles_and_channels():
    assert set(PROFILE_CHANNELS) <= set(FEED_PROFILES)
    assert set(PROFILE_CHANNELS.values()) <= set(CHANNEL_KINDS)


def test_unmapped_defaults_warn_for_prom_and_rozetka_and_ignore_otherwise(tmp_path):
    policies = {feed.profile: feed.unmapped_policy for feed in settings(tmp_path).feeds}
    assert policies == {"rozetka_yml": "warn", "prom_yml": "warn", "yml": "ignore", "woocommerce_csv": "ignore"}


def test_unmapped_categories_on_a_feed_of_no_marketplace_is_a_settings_error(tmp_path):
    with pytest.raises(ValidationError, match="unmapped_categories: yml feeds carry no marketplace category ids"):
        settings(tmp_path, {"profile": "yml", "unmapped_categories": "block"})


def test_the_unmapped_setting_keeps_the_content_fingerprint(tmp_path):
    plain = settings(tmp_path)
    blocking = settings(tmp_path, {"profile": "prom_yml", "unmapped_categories": "block"})
    assert identity.content_fingerprint(plain, [1, 2]) == identity.content_fingerprint(blocking, [1, 2])


def test_an_own_map_replaces_every_marketplace_id_and_an_empty_one_keeps_the_shop_map():
    categories = {1: Category(1, None, "Взуття", None, ("Взуття",), "100"),
                  2: Category(2, 1, "Кросівки", None, ("Взуття", "Кросівки"), "200")}
    assert with_own_map(categories, {}) is categories
    own = with_own_map(categories, {2: "R2"})
    assert (own[1].external_id, own[2].external_id) == (None, "R2")
