"""What a catalog pass is asked to do (PassPlan) and the feeds it writes (Target), with the columns of its rows.

A pass row is one good: good_id, name, visible, free_stock, reasons (why the good is left out; null: it is
in the feeds), and per target t<i>_offset, t<i>_length, t<i>_offer (the offer read back); on its way through
the pass also t<i>_fragment (its rendered text, null for a good whose bytes are copied from the previous
file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from shopsync.catalog.columns import PhotoFiles
from shopsync.catalog.feeds import feed_file_name, get_writer
from shopsync.catalog.feeds.base import GOODS_FRAGMENTS, FragmentWriter
from shopsync.catalog.model import FeedContext
from shopsync.catalog.validation.read_back import PROFILES
from shopsync.catalog.workspace import ShopWorkspace
from shopsync.core.config import FeedSettings, delta_name
from shopsync.core.tuning import Tuning

OFFER_TYPE = pa.struct([
    ("offer_id", pa.string()), ("name", pa.string()), ("price", pa.float64()), ("old_price", pa.float64()),
    ("stock", pa.float64()), ("category_id", pa.string()), ("picture_count", pa.int64()), ("pictures", pa.string()),
])
BASE_FIELDS = [
    pa.field("good_id", pa.int64()), pa.field("name", pa.string()), pa.field("visible", pa.bool_()),
    pa.field("free_stock", pa.int64()), pa.field("reasons", pa.list_(pa.string())),
]


@dataclass(frozen=True)
class PassPlan:
    workspace: ShopWorkspace
    run_dir: Path
    out_dir: Path
    ctx: FeedContext                   # goods are checked with it; a feed is written with its own (contexts)
    feeds: list[FeedSettings]          # the shop's feeds of shape GOODS_FRAGMENTS
    photo_base_url: str
    photos: PhotoFiles                 # the resized photos there are to link to
    changed_ids: list[int] | None      # the goods this run changed (None: a full extract)
    changes: Path                      # their records (the run's changes/goods.arrow)
    previous_token: str | None         # the snapshot state the cache must describe to be used
    token: str | None                  # the snapshot state this pass reads
    tuning: Tuning
    # by profile, the context of a feed whose marketplace has a category map of its own (category_maps.py)
    contexts: Mapping[str, FeedContext] = field(default_factory=dict)

    def context_of(self, feed: FeedSettings) -> FeedContext:
        return self.contexts.get(feed.profile, self.ctx)


@dataclass(frozen=True)
class Target:
    """One catalog feed of the shop (ascending good id order), and its delta file in an incremental run."""
    index: int
    feed: FeedSettings
    file_name: str
    delta_file: str | None
    writer: FragmentWriter
    ctx: FeedContext                   # what the feed is written with (its categories' marketplace ids)

    @property
    def fragment(self) -> str:
        return f"t{self.index}_fragment"

    @property
    def offer(self) -> str:
        return f"t{self.index}_offer"

    @property
    def offset(self) -> str:
        return f"t{self.index}_offset"

    @property
    def length(self) -> str:
        return f"t{self.index}_length"

    @property
    def reads_back(self) -> bool:
        return self.feed.profile in PROFILES


def catalog_targets(plan: PassPlan) -> list[Target]:
    """The feeds of shape GOODS_FRAGMENTS, in the order of the shop's feeds."""
    incremental = plan.changed_ids is not None
    targets = []
    for feed in plan.feeds:
        writer = get_writer(feed.profile, plan.tuning)
        if writer.shape != GOODS_FRAGMENTS:
            raise ValueError(f"{feed.profile}: the catalog pass renders GOODS_FRAGMENTS writers only")
        name = feed_file_name(feed)
        delta = delta_name(name) if feed.delta and incremental else None
        targets.append(Target(len(targets), feed, name, delta, writer, plan.context_of(feed)))
    return targets


def cache_schema(targets: list[Target]) -> pa.Schema:
    fields = list(BASE_FIELDS)
    for target in targets:
        fields += [pa.field(target.offset, pa.int64()), pa.field(target.length, pa.int64()),
                   pa.field(target.offer, OFFER_TYPE)]
    return pa.schema(fields)


def rows_schema(targets: list[Target]) -> pa.Schema:
    """Rows on their way through a pass: the cache's columns, and the fragments of goods rendered in it
    (null for a good whose bytes are copied from the previous feed file)."""
    schema = cache_schema(targets)
    for target in targets:
        schema = schema.append(pa.field(target.fragment, pa.string()))
    return schema


def offers_schema() -> pa.Schema:
    return pa.schema(list(OFFER_TYPE))
