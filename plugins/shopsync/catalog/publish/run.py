"""Publishing one export run: its feed set, all or nothing (sets.py), after the publish order rule and the shrink
guard (catalog/guards.py); and the photos the destination lacks, with the workspace's bookkeeping of what was
sent to a destination that cannot be asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopsync.catalog import snapshot
from shopsync.catalog.build import photo_files
from shopsync.catalog.changes import mark_published
from shopsync.catalog.guards import check_publish_order, check_shrink
from shopsync.catalog.publish.manifest import ManifestEntry, build_manifest, write_manifest
from shopsync.catalog.publish.sets import FeedSet, identity_key, new_set_id, open_set_destination
from shopsync.catalog.run import ExportRun
from shopsync.catalog.run_files import (
    FeedFileStats,
    read_feed_stats,
    read_positions,
    read_published_manifest,
    read_uploaded_photos,
    write_published_manifest,
    write_uploaded_photos,
)
from shopsync.transport.base import OutgoingFile, PutResult


@dataclass(frozen=True)
class Published:
    """What a publish sent."""
    set_id: str
    recovered: list[str]                # what finishing or rolling back an interrupted publish did
    results: list[PutResult]            # the feeds and the manifest
    feeds: list[FeedFileStats]
    photos_uploaded: int

    @property
    def bytes(self) -> int:
        return sum(result.size for result in self.results)


def open_publish_target(run: ExportRun) -> Any:
    from shopsync.core.paths import project_root

    return open_set_destination(run.shop.destination, project_root(), run.workspace.root)


def publish_missing_photos(run: ExportRun) -> int:
    """Only the photos the destination does not have yet, without a new feed set; returns how many."""
    destination = open_publish_target(run)
    try:
        with run.workspace.publish_lock():
            destination.recover()
            files, uploaded = _photo_uploads(run, destination)
            destination.put_photos(files)
            _remember_uploads(run, destination, uploaded)
    finally:
        destination.close()
    return len(files)


def publish_feed_set(run: ExportRun, published_at: datetime | None = None) -> Published:
    """The run's set: photos, feeds, manifest.json last.

    Under the shop's publish lock, before anything is sent: an interrupted earlier publish is finished or rolled
    back, then the publish order rule and the shrink guard compare this set with the last published one.
    """
    out_dir = run.workspace.out_dir(run.key)
    feeds = read_feed_stats(run)
    positions = read_positions(run).to_json()
    destination = open_publish_target(run)
    try:
        with run.workspace.publish_lock():
            recovered = destination.recover()
            key = identity_key(destination.identity)
            live = destination.published_manifest() or read_published_manifest(run.workspace, key)
            if not run.ignore_publish_order:
                check_publish_order(run.shop.id, positions, live)
            if not run.allow_shrink:
                check_shrink(run.shop.id, guarded_rows(run, feeds), live, run.shop.max_drop_percent)
            photos, uploaded = _photo_uploads(run, destination)
            set_id = new_set_id()
            entries = [ManifestEntry(f.file, out_dir / f.file, f.rows) for f in feeds]
            manifest = build_manifest(entries, (run.interval_start, run.interval_end),
                                      published_at or datetime.now().astimezone(),
                                      extra={"set": set_id, "run": run.key, "database_position": positions})
            manifest_path = write_manifest(manifest, out_dir / "manifest.json")
            results = destination.publish(FeedSet(
                set_id, photos, [OutgoingFile(entry.path, entry.name) for entry in entries],
                OutgoingFile(manifest_path, "manifest.json")))
            _remember_uploads(run, destination, uploaded)
            write_published_manifest(run.workspace, key, manifest)
    finally:
        destination.close()
    mark_published(run)
    return Published(set_id, recovered, results, feeds, len(photos))


def guarded_rows(run: ExportRun, feeds: list[FeedFileStats]) -> dict[str, int]:
    """Rows of every full feed of the shop in this set, 0 for one the set lacks (the delta files of an
    incremental run change size by nature)."""
    from shopsync.catalog.feeds import feed_file_name

    rows = {f.file: f.rows for f in feeds}
    return {name: rows.get(name, 0) for name in (feed_file_name(feed) for feed in run.shop.feeds)}


# --- photos --------------------------------------------------------------------------------------------------

def _photo_names_in_snapshot(run: ExportRun) -> set[str]:
    """The photo files the feeds link to (every size of each is published)."""
    import pyarrow.compute as pc

    from shopsync.catalog.columns import published_photo_names

    published = photo_files(run)
    names: set[str] = set()
    for batch in snapshot.iter_batches(run.workspace.snapshot("goods"), columns=["photos"]):
        names.update(pc.unique(pc.list_flatten(published_photo_names(batch.column("photos"), published))).to_pylist())
    return names


def _photo_uploads(run: ExportRun, destination: Any) -> tuple[list[OutgoingFile], set[str]]:
    """Photo files the destination does not have yet (every size of every photo a feed links to), and every
    photo it has once they are sent. A local destination is asked; for a remote one the workspace remembers
    what was sent to it (per kind, host, port and path: a moved destination gets every photo again)."""
    wanted = {f"{size.name}/{name}" for name in _photo_names_in_snapshot(run) for size in run.shop.photos.sizes}
    known = destination.known_photos(wanted)
    already = read_uploaded_photos(run.workspace, identity_key(destination.identity)) if known is None else known
    missing = sorted(wanted - already)
    files = [OutgoingFile(run.workspace.photos_dir / name, f"photos/{name}") for name in missing
             if (run.workspace.photos_dir / name).exists()]
    return files, already | {file.remote_name.removeprefix("photos/") for file in files}


def _remember_uploads(run: ExportRun, destination: Any, uploaded: set[str]) -> None:
    """A destination that cannot say which photos it has: the workspace remembers what was sent to it."""
    if destination.known_photos(set()) is None:
        write_uploaded_photos(run.workspace, identity_key(destination.identity), uploaded)
