"""One export run of one shop: who it is for, which data interval, how it is tuned, where its files live.

Every stage of the catalog export takes an `ExportRun`; the DAG tasks and `shopsync export` build it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shopsync.catalog.workspace import ShopWorkspace, new_run_id, run_key
from shopsync.core.config import ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning

DATASETS = ("goods", "customers", "certificates")
EXTRACT_STAGES = tuple(f"extract_{dataset}" for dataset in DATASETS)
ENTITY_OF = {"goods": "good", "customers": "customer", "certificates": "certificate"}
FAR_FUTURE = datetime(9999, 1, 1).astimezone()


def extract_overlap() -> timedelta:
    """How far before the window an incremental extract starts (commit lag of long transactions)."""
    return timedelta(seconds=int(os.environ.get("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "60")))


@dataclass(frozen=True)
class ExportRun:
    shop: ShopSettings
    interval_start: datetime
    interval_end: datetime
    full: bool = False
    run_id: str = field(default_factory=new_run_id)    # the Airflow DAG run's id; a new one per CLI run
    allow_shrink: bool = False                         # publish even if a feed loses > max_drop_percent
    ignore_publish_order: bool = False                 # publish even if the destination shows newer data
    tuning: Tuning = DEFAULT_TUNING

    @property
    def key(self) -> str:
        return run_key(self.interval_end, self.run_id)

    @property
    def workspace(self) -> ShopWorkspace:
        return ShopWorkspace(self.shop.id)

    def run_dir_path(self, name: str) -> Path:
        return self.workspace.run_dir(self.key) / name


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def categories_path(run: ExportRun) -> Path:
    """The classifier with the shop-level map's ids (extract/categories.sql)."""
    return run.workspace.run_dir(run.key) / "changes" / "categories.json"


def category_maps_path(run: ExportRun) -> Path:
    """Each marketplace's own map the shop's feeds read ({channel: {category id: external id}}; {} for a
    channel without rows of its own, which falls back to the shop-level map: catalog/category_maps.py)."""
    return run.workspace.run_dir(run.key) / "changes" / "category_maps.json"
