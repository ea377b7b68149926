"""Publishable photos: originals resized to the shop's sizes, redone only when the original changed.

    report = process_photos(refs, originals_root, output_dir, settings, state_path, tuning=tuning)

state.py: the references, output names, report and the per-shop state file that makes a rerun redo only
changed photos; render.py: one batch of photos in a worker (decode, orient, resize, encode, write);
process.py: process_photos, which plans, runs the batches on a thread or process pool and records.
The names below are the package's public API.
"""

from __future__ import annotations

from shopsync.catalog.photos.process import ExecutorKind, process_photos
from shopsync.catalog.photos.render import fitted_size
from shopsync.catalog.photos.state import (
    EXTENSIONS,
    PhotoProblem,
    PhotoRef,
    PhotoReport,
    content_name,
    detail_size_name,
    output_name,
)

__all__ = [
    "EXTENSIONS", "ExecutorKind", "PhotoProblem", "PhotoRef", "PhotoReport", "content_name", "detail_size_name",
    "fitted_size", "output_name", "process_photos",
]
