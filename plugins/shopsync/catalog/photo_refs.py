"""Which photos a run resizes: every original the snapshot will reference after the run's merge, once each.

Resizing is content addressed (by the original's checksum): a photo shared by goods is done once, and photos
of unchanged goods are listed too, so photos still in use are never removed (catalog/photos.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shopsync.catalog import snapshot
from shopsync.catalog.run import ExportRun
from shopsync.catalog.run_files import FailedPhoto, read_changes, write_photo_problems

if TYPE_CHECKING:
    from shopsync.catalog.photos import PhotoRef, PhotoReport


def photo_refs(run: ExportRun) -> Iterator[PhotoRef]:
    """Every photo the snapshot will reference after this run's merge: the changed goods' photos, and for an
    incremental run also those of the unchanged goods."""
    meta = read_changes(run, "goods")
    if meta is None:
        raise FileNotFoundError(run.workspace.changed_ids_path(run.key, "goods"))
    yield from _refs_in(run.workspace.changes(run.key, "goods"))
    if meta.incremental:
        yield from _refs_in(run.workspace.snapshot("goods"), skip=set(meta.ids or ()))


def _refs_in(path: Path, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[PhotoRef]:
    """The first reference to each original (by checksum) in good id, position order: later references to the
    same original add nothing (and there are far fewer originals than photo rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from shopsync.catalog.photos import PhotoRef

    skipped = pa.array(sorted(skip), pa.int64())
    seen: set[str] = set()
    for batch in snapshot.iter_batches(path, columns=["good_id", "photos"]):
        if len(skipped):
            batch = batch.filter(pc.invert(pc.is_in(batch.column("good_id"), skipped)))
        photos = batch.column("photos")
        flat = pc.list_flatten(photos)
        if len(flat) == 0:
            continue
        checksums = flat.field("checksum")
        firsts = pc.index_in(pc.unique(checksums), value_set=checksums)
        owners = batch.column("good_id").take(pc.list_parent_indices(photos)).take(firsts)
        for good_id, photo in zip(owners.to_pylist(), flat.take(firsts).to_pylist(), strict=True):
            if photo["checksum"] not in seen:
                seen.add(photo["checksum"])
                yield PhotoRef(good_id, photo["position"], photo["original_path"], photo["checksum"])


def resize_referenced_photos(run: ExportRun) -> tuple[PhotoReport, list[FailedPhoto]]:
    """Resize the originals that changed into the workspace's photos/; the photos that failed are written to the
    run's photo-problems.json (the feeds leave them out)."""
    from shopsync.catalog.photos import process_photos
    from shopsync.core.paths import photos_dir

    report = process_photos(photo_refs(run), photos_dir(), run.workspace.photos_dir, run.shop.photos,
                            run.workspace.photos_state, content_addressed=True, tuning=run.tuning)
    problems = [FailedPhoto(p.good_id, p.position, p.original_path, p.reason) for p in report.failed]
    write_photo_problems(run, problems)
    return report, problems
