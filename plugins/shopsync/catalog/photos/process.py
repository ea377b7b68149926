"""process_photos: plan which photos need rendering (state.py), render them in batches on a thread or
process pool (render.py), then record the outcome and delete what is no longer wanted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Literal

from shopsync.catalog.photos.render import RenderJob, RenderOutcome, RenderTarget, render_batch
from shopsync.catalog.photos.state import (
    BY_CONTENT,
    BY_POSITION,
    Naming,
    PhotoRef,
    PhotoReport,
    available,
    is_unchanged,
    load_state,
    output_names,
    problem,
    remove_stale_outputs,
    save_state,
    settings_fingerprint,
    state_entry,
    unique_refs,
)
from shopsync.core.config import PhotoSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning

ExecutorKind = Literal["thread", "process"]


def process_photos(
    refs: Iterable[PhotoRef],
    originals_root: Path,
    output_dir: Path,
    settings: PhotoSettings,
    state_path: Path,
    workers: int = 2,
    executor: ExecutorKind = "thread",
    content_addressed: bool = False,
    tuning: Tuning = DEFAULT_TUNING,
) -> PhotoReport:
    """Bring output_dir in line with refs; the report says what to upload and what was deleted.

    content_addressed names outputs after the original's checksum (`<size>/<checksum[:24]>.jpg`), so a
    photo shared by many goods (sizes and colours of one model) is resized and uploaded once; the
    report's `available` is then left empty (callers map goods to names with `content_name`).

    Threads are the default: Pillow releases the GIL while decoding, resizing and encoding, and on
    2 cores two threads were as fast as two processes (bench/photos.py), without pickling or child
    processes (which daemonic executor workers, e.g. Celery's, may not start). `tuning.photo_batch`
    photos go to a worker at a time.
    """
    report = PhotoReport()
    fingerprint = settings_fingerprint(settings)
    old_entries = load_state(state_path, fingerprint)
    new_entries: dict[str, dict] = {}
    naming = BY_CONTENT if content_addressed else BY_POSITION
    wanted = unique_refs(refs, naming)
    jobs = _plan(wanted, old_entries, new_entries, report, originals_root, output_dir, settings, naming)

    completed = False
    try:
        outcomes = _run_jobs(jobs, output_dir, settings, workers, executor, tuning.photo_batch)
        for outcome in outcomes:
            _record(outcome, wanted[outcome.key], new_entries, report, settings, naming)
        completed = True
    finally:
        if completed:
            report.removed = remove_stale_outputs(old_entries, new_entries, output_dir)
            save_state(state_path, fingerprint, new_entries)
        else:
            # Interrupted: keep what was rendered, delete nothing; pending photos are retried next run.
            save_state(state_path, fingerprint, {**old_entries, **new_entries})

    report.changed_files.sort()
    report.failed.sort(key=lambda p: (p.good_id, p.position))
    report.available = {} if content_addressed else available(wanted, new_entries, settings)
    return report


def _plan(wanted: dict[str, PhotoRef], old_entries: dict[str, dict], new_entries: dict[str, dict],
          report: PhotoReport, originals_root: Path, output_dir: Path, settings: PhotoSettings,
          naming: Naming) -> list[RenderJob]:
    """The jobs for photos that changed; unchanged ones and unsafe paths go straight into the report."""
    jobs: list[RenderJob] = []
    for key, ref in wanted.items():
        outputs = output_names(ref, settings, naming)
        if is_unchanged(old_entries.get(key), ref, outputs, output_dir):
            report.unchanged += 1
            new_entries[key] = old_entries[key]
            continue
        original = _resolve_original(originals_root, ref.original_path)
        if original is None:
            report.failed.append(problem(ref, f"original photo path leaves the photo root: {ref.original_path}"))
            continue
        sizes = zip(outputs, settings.sizes, strict=True)
        targets = tuple(RenderTarget(name, size.width, size.height) for name, size in sizes)
        jobs.append(RenderJob(key, str(original), ref.checksum, targets))
    return jobs


def _record(outcome: RenderOutcome, ref: PhotoRef, new_entries: dict[str, dict], report: PhotoReport,
            settings: PhotoSettings, naming: Naming) -> None:
    if outcome.error:
        report.failed.append(problem(ref, outcome.error))
        return
    if outcome.checksum_mismatch:
        report.warnings.append(problem(ref, outcome.checksum_mismatch))
    outputs = output_names(ref, settings, naming)
    new_entries[outcome.key] = state_entry(ref, outputs)
    report.processed += 1
    report.changed_files.extend(outputs)


def _resolve_original(originals_root: Path, original_path: str) -> Path | None:
    """The original's absolute path, or None when the database path points outside the root."""
    root = originals_root.resolve()
    candidate = (root / original_path).resolve()
    return candidate if candidate.is_relative_to(root) else None


# --- the pool ------------------------------------------------------------------------------------

def _run_jobs(jobs: list[RenderJob], output_dir: Path, settings: PhotoSettings, workers: int,
              executor: ExecutorKind, batch_size: int) -> Iterator[RenderOutcome]:
    if not jobs:
        return
    for size in settings.sizes:
        (output_dir / size.name).mkdir(parents=True, exist_ok=True)
    batches = list(_batched(jobs, batch_size))
    render = partial(render_batch, output_dir=str(output_dir), image_format=settings.format, quality=settings.quality)
    if workers <= 1 or len(batches) == 1:
        for batch in batches:
            yield from render(batch)
        return
    with _executor(executor, workers) as pool:
        for outcomes in pool.map(render, batches):
            yield from outcomes


def _executor(kind: ExecutorKind, workers: int) -> Executor:
    if kind == "process":
        return ProcessPoolExecutor(max_workers=workers)
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photos")


def _batched(items: list[RenderJob], size: int) -> Iterator[list[RenderJob]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
