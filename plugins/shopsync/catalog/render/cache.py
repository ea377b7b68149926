"""The shop's per-good cache of the catalog pass (workspace/rendered/catalog.arrow, good id order), and the
fingerprint that says whether it may be used.

The cache holds the pass rows without their fragments (targets.py) and keeps the feed files it describes
beside it (workspace/rendered/<file>, hard links). It is used only when it describes the snapshot exactly as
it was before this run's merge (a token written by each merge) and was made by the same feeds, shop,
categories (each feed's, where its marketplace has a map of its own) and code: the fingerprint hashes those,
the code being the modules in RENDERING_MODULES only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import pyarrow as pa

from shopsync.catalog.model import FeedContext
from shopsync.catalog.render.sink import PreviousFeed
from shopsync.catalog.render.targets import PassPlan, Target, rows_schema
from shopsync.catalog.workspace import ShopWorkspace, read_json, write_json
from shopsync.core.config import FEED_CHECK_SETTINGS

CACHE_FORMAT = 1
# The modules whose code decides a cached row: a good's feed bytes (its batch, the writers, the profile's
# writer), whether it is left out and why (validation/rules.py), or its offers read back
# (validation/read_back.py). A change to any of them invalidates the cache; a change to any other module
# (the GX suite, the report and its escaper, ...) does not. test_render_fingerprint.py checks that each
# one's catalog imports are listed here or named there as not rendering.
RENDERING_MODULES = (
    "columns.py", "model.py", "snapshot.py",
    "render/targets.py", "render/rows.py", "render/reader.py", "render/sink.py", "render/cache.py",
    "render/catalog_pass.py",
    "feeds/__init__.py", "feeds/base.py", "feeds/xml_text.py", "feeds/yml.py", "feeds/yml_offers.py",
    "feeds/torgsoft_csv.py",
    "validation/rules.py", "validation/read_back.py",
)
CATALOG_DIR = Path(__file__).resolve().parent.parent


def fingerprint(plan: PassPlan, targets: list[Target]) -> str:
    ctx = plan.ctx
    payload = {
        "format": CACHE_FORMAT,
        "feeds": [target.feed.model_dump(mode="json", exclude=set(FEED_CHECK_SETTINGS)) for target in targets],
        "shop": [ctx.shop_id, ctx.shop_name, ctx.company, ctx.url, ctx.currency, plan.photo_base_url],
        "categories": _categories(ctx),
        "code": code_fingerprint(),
    }
    own_maps = {target.file_name: _categories(target.ctx) for target in targets if target.ctx is not ctx}
    if own_maps:        # a feed written with its marketplace's own category map (category_maps.py)
        payload["feed_categories"] = own_maps
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _categories(ctx: FeedContext) -> list[tuple]:
    return [astuple(category) for _, category in sorted(ctx.categories.items())]


def code_fingerprint(catalog_dir: Path = CATALOG_DIR) -> dict[str, str]:
    """The hash of each rendering module's source under catalog_dir (the installed package by default)."""
    return {name: hashlib.sha256((catalog_dir / name).read_bytes()).hexdigest() for name in RENDERING_MODULES}


class PassCache:
    """The shop's pass cache: rows in data_path, what they describe in meta_path, and the feed files their
    offsets point into (hard links to the last files written)."""

    def __init__(self, workspace: ShopWorkspace):
        self.root = workspace.root / "rendered"
        self.data_path = self.root / "catalog.arrow"
        self.meta_path = self.root / "catalog.json"

    def feed_path(self, target: Target) -> Path:
        return self.root / target.file_name

    def matches(self, fingerprint: str, token: str, targets: list[Target]) -> bool:
        meta = read_json(self.meta_path, {})
        feeds = meta.get("feeds", {})
        return (self.data_path.exists() and meta.get("fingerprint") == fingerprint and meta.get("token") == token
                and all(self._intact(target, feeds.get(target.file_name)) for target in targets))

    def _intact(self, target: Target, recorded: dict | None) -> bool:
        path = self.feed_path(target)
        return recorded is not None and path.exists() and path.stat().st_size == recorded["size"]

    def open_feeds(self, targets: list[Target]) -> dict[str, PreviousFeed]:
        feeds = read_json(self.meta_path, {})["feeds"]
        return {target.file_name: PreviousFeed(open(self.feed_path(target), "rb"),  # noqa: SIM115 - run_pass closes
                                               feeds[target.file_name]["body_start"]) for target in targets}

    def batches(self, targets: list[Target]) -> Iterator[pa.RecordBatch]:
        """The cached rows as pass rows (no fragments: their bytes are in the previous files)."""
        # Read batch by batch (a memory map would count the whole file as resident); the open file stays the
        # old one when the new cache is renamed over it.
        reader = pa.ipc.open_file(pa.OSFile(str(self.data_path)))
        schema = rows_schema(targets)
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            columns = [batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, field.type)
                       for name, field in zip(schema.names, schema, strict=True)]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    def forget(self) -> None:
        self.meta_path.unlink(missing_ok=True)

    def remember(self, fingerprint: str, token: str, out_dir: Path, targets: list[Target],
                 body_start: dict[str, int]) -> None:
        feeds = {}
        for target in targets:
            _link_into_place(out_dir / target.file_name, self.feed_path(target))
            feeds[target.file_name] = {"body_start": body_start[target.file_name],
                                       "size": self.feed_path(target).stat().st_size}
        write_json(self.meta_path, {"fingerprint": fingerprint, "token": token, "feeds": feeds})


def _link_into_place(source: Path, target: Path) -> None:
    """`target` becomes the same file as `source` (a copy where hard links are not possible)."""
    if target.exists() and os.path.samefile(source, target):
        return                      # rename() between two links of one file would do nothing, leaving tmp
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
