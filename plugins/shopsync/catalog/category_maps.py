"""Categories per marketplace: which map each feed's categories come from, and which categories with offers a
feed's map leaves without a marketplace id (docs/decisions.md, "Categories per marketplace").

A feed of a marketplace profile (core.config.PROFILE_CHANNELS) reads the map `<shop's map key>/<channel>` when
that map has rows of its own; a channel without any rows falls back to the shop-level map (the key alone)
as a whole, never per category. Every other feed reads the shop-level map.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from shopsync.catalog.model import Category, FeedContext
from shopsync.catalog.run import ExportRun, category_maps_path
from shopsync.catalog.workspace import read_json
from shopsync.core.config import FeedSettings, ShopSettings
from shopsync.core.errors import PermanentError

log = logging.getLogger(__name__)

SHOWN_CATEGORIES = 10           # per feed in a summary line or an error; the rest are counted


def channel_maps(run: ExportRun) -> dict[str, dict[int, str]]:
    """Each marketplace's own map the run extracted (empty: the channel has no rows of its own)."""
    stored = read_json(category_maps_path(run), {})
    return {channel: {int(category_id): external_id for category_id, external_id in rows.items()}
            for channel, rows in stored.items()}


def with_own_map(categories: dict[int, Category], own: Mapping[int, str]) -> dict[int, Category]:
    """The categories with a channel's own marketplace ids; the shop-level ones when it has no rows at all."""
    if not own:
        return categories
    return {category_id: dataclasses.replace(category, external_id=own.get(category_id))
            for category_id, category in categories.items()}


def feed_contexts(ctx: FeedContext, feeds: Iterable[FeedSettings],
                  maps: Mapping[str, Mapping[int, str]]) -> dict[str, FeedContext]:
    """The context each feed is written with, by profile: `ctx` itself unless its channel has its own map."""
    contexts = {}
    for feed in feeds:
        own = maps.get(feed.channel, {}) if feed.channel else {}
        contexts[feed.profile] = ctx if not own else dataclasses.replace(
            ctx, categories=with_own_map(ctx.categories, own))
    return contexts


def map_in_use(shop: ShopSettings, feed: FeedSettings, maps: Mapping[str, Mapping[int, str]]) -> str:
    """The key of the map a feed's categories come from."""
    if feed.channel and maps.get(feed.channel):
        return shop.channel_map_key(feed.channel)
    return shop.category_map_key


def offers_by_category(offers: Path) -> Counter[int]:
    """How many offers a feed has per category, from its offers read back (the run's offers/<file>.parquet)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not offers.exists():
        return Counter()
    column = pq.read_table(offers, columns=["category_id"]).column("category_id").combine_chunks()
    counts = pc.value_counts(pc.drop_null(column)).to_pylist()
    return Counter({int(entry["values"]): entry["counts"] for entry in counts if entry["values"].isdigit()})


def unmapped_categories(categories: Mapping[int, Category], offers: Mapping[int, int]) -> list[dict]:
    """The categories with offers and no marketplace id: id, our path, offers; most offers first."""
    found = [{"id": category_id, "path": category_path(categories, category_id), "offers": count}
             for category_id, count in offers.items()
             if count and not (category_id in categories and categories[category_id].external_id)]
    return sorted(found, key=lambda entry: (-entry["offers"], entry["id"]))


def category_path(categories: Mapping[int, Category], category_id: int) -> str:
    category = categories.get(category_id)
    return " > ".join(category.path) if category is not None else "(not in the classifier)"


def feed_report(shop: ShopSettings, feed: FeedSettings, ctx: FeedContext, maps: Mapping[str, Mapping[int, str]],
                offers: Mapping[int, int]) -> dict | None:
    """A feed's unmapped categories as the build's result lists them (None: nothing to say)."""
    if feed.unmapped_policy == "ignore":
        return None
    found = unmapped_categories(ctx.categories, offers)
    if not found:
        return None
    return {"profile": feed.profile, "channel": feed.channel, "policy": feed.unmapped_policy,
            "map": map_in_use(shop, feed, maps), "offers": sum(entry["offers"] for entry in found),
            "categories": found}


def fix_command(shop_id: str, channel: str) -> str:
    return (f"shopsync categories export --shop {shop_id} --channel {channel} > map.csv, fill in external_id, "
            f"then shopsync categories import --shop {shop_id} --channel {channel} map.csv")


def describe(file_name: str, report: dict) -> str:
    """One line: the feed, how many categories and offers lack the marketplace's id, the first few."""
    entries = report["categories"]
    shown = ", ".join(f"{entry['id']} {entry['path']} ({entry['offers']})" for entry in entries[:SHOWN_CATEGORIES])
    more = f" and {len(entries) - SHOWN_CATEGORIES} more" if len(entries) > SHOWN_CATEGORIES else ""
    return (f"{file_name}: {len(entries)} categories with {report['offers']:,} offers have no {report['channel']} "
            f"category id (map {report['map']}): {shown}{more}")


def enforce(shop: ShopSettings, reports: Mapping[str, dict]) -> None:
    """Warn about each listed feed; a feed whose setting is `block` fails the build (nothing is published)."""
    blocked = []
    for file_name, report in reports.items():
        line = describe(file_name, report)
        if report["policy"] == "block":
            blocked.append(f"{line}; fix: {fix_command(shop.id, report['channel'])}")
        else:
            log.warning("%s", line)
    if blocked:
        raise UnmappedCategoriesError("unmapped_categories: block stops the publish: " + "; ".join(blocked))


class UnmappedCategoriesError(PermanentError):
    """A feed whose setting is `unmapped_categories: block` has offers in categories without a marketplace id."""
