"""Publishing a shop's whole feed set all or nothing: photos, feeds, then manifest.json.

A local destination (local.py, LocalSets) switches a symlink from the old complete set to the new one; a
remote one (remote.py, RemoteSets: FTP, SFTP, HTTP) uploads every file under a temporary name, then renames
each into place, manifest.json last, with a journal in the shop's workspace so the next publish finishes or
rolls back an interrupted one. base.py: the FeedSet both take and what they share. The names below are the
package's public API.
"""

from __future__ import annotations

from pathlib import Path

from shopsync.catalog.publish.sets.base import FeedSet, SetDestination, identity_key, new_set_id
from shopsync.catalog.publish.sets.local import LocalSets
from shopsync.catalog.publish.sets.remote import RemoteSets, StoreTransport
from shopsync.core import config
from shopsync.transport.base import RetryPolicy
from shopsync.transport.open import destination_identity, open_destination, open_file_store, resolve_local_path


def open_set_destination(settings: config.Destination, base_dir: Path, workspace_root: Path,
                         retry: RetryPolicy | None = None) -> SetDestination:
    """Where a shop's feed sets go, all or nothing: LocalSets, or RemoteSets with its journal."""
    if settings.kind == "local":
        return LocalSets(resolve_local_path(settings.path, base_dir))
    identity = destination_identity(settings, base_dir)
    journal = workspace_root / f"publish-journal.{identity_key(identity)}.json"
    if settings.kind == "http":
        destination = open_destination(settings, base_dir, retry)
        return RemoteSets(destination, identity, journal)
    store = open_file_store(settings.kind, settings.path, settings.conn_id, base_dir)
    return RemoteSets(StoreTransport(store, retry), identity, journal)


__all__ = [
    "FeedSet", "LocalSets", "RemoteSets", "SetDestination", "StoreTransport", "identity_key", "new_set_id",
    "open_set_destination",
]
