"""A feed set is published all or nothing: a reader of a local destination sees the old set or the new one;
a publish killed (os._exit, no clean-up) at any step is finished or rolled back by the next one, for local,
FTP, SFTP and HTTP destinations, and no temporary file survives."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopsync.catalog.publish.sets import FeedSet, LocalSets, StoreTransport, new_set_id, open_set_destination
from shopsync.core import config
from shopsync.transport import OutgoingFile, RetryPolicy
from shopsync.transport.http_upload import HttpDestination

if TYPE_CHECKING:
    pass

MakeFile = Callable[[str, bytes], Path]
FEEDS = ("rozetka.xml", "TSGoods.trs", "customers.csv")


def make_set(tmp_path: Path, version: int, photos: int = 3) -> FeedSet:
    """Feeds whose bytes name their version; a manifest with their sha256; photos content addressed."""
    directory = tmp_path / f"run{version}"
    (directory / "photos").mkdir(parents=True)
    feeds = []
    for name in FEEDS:
        path = directory / name
        path.write_bytes(f"{name} version {version}\n".encode() * (version + 1))
        feeds.append(OutgoingFile(path, name))
    pictures = []
    for index in range(photos):
        content = f"photo {version}.{index}".encode()
        name = hashlib.sha256(content).hexdigest()[:24] + ".jpg"
        path = directory / "photos" / name
        path.write_bytes(content)
        pictures.append(OutgoingFile(path, f"photos/catalog/{name}"))
    manifest = directory / "manifest.json"
    manifest.write_text(json.dumps({"version": version, "files": [
        {"name": f.remote_name, "sha256": hashlib.sha256(f.local_path.read_bytes()).hexdigest()} for f in feeds]}))
    return FeedSet(new_set_id(), pictures, feeds, OutgoingFile(manifest, "manifest.json"))


def shown_version(root: Path) -> int:
    """The version of the complete set under root; fails when the files do not match its manifest."""
    manifest = json.loads((root / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        assert hashlib.sha256((root / entry["name"]).read_bytes()).hexdigest() == entry["sha256"], entry["name"]
    return manifest["version"]


def temporary_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".part" in p.name
                  or p.name.startswith((".building-", ".next-")))


# -- local -----------------------------------------------------------------------------------------------


def test_a_local_reader_sees_the_old_set_or_the_new_one_never_a_mix(tmp_path: Path) -> None:
    sets = LocalSets(tmp_path / "site" / "feeds")
    sets.publish(make_set(tmp_path, 0))
    seen: list[int | str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:        # a reader resolves the path once and reads the set it points to (docs/operations.md)
                seen.append(shown_version(Path(os.path.realpath(tmp_path / "site" / "feeds"))))
            except (AssertionError, OSError) as exc:
                seen.append(f"MIXED {exc}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in range(1, 30):
            sets.publish(make_set(tmp_path, version))
    finally:
        done.set()
        thread.join()
    assert seen and all(isinstance(v, int) for v in seen), [v for v in seen if not isinstance(v, int)][:3]
    assert shown_version(tmp_path / "site" / "feeds") == 29
    assert (tmp_path / "site" / "feeds").is_symlink()


def test_a_plain_directory_becomes_the_first_set_and_photos_move_beside_the_sets(tmp_path: Path) -> None:
    path = tmp_path / "published"
    (path / "photos" / "catalog").mkdir(parents=True)
    (path / "photos" / "catalog" / "old.jpg").write_bytes(b"old photo")
    first = make_set(tmp_path, 0)
    for file in (*first.feeds, first.manifest):
        (path / file.remote_name).write_bytes(file.local_path.read_bytes())
    (path / ".rozetka.xml.part-1a2b3c4d").write_bytes(b"left by a killed per-file publish")
    sets = LocalSets(path)

    sets.recover()
    assert path.is_symlink() and shown_version(path) == 0
    assert (path / "photos" / "catalog" / "old.jpg").read_bytes() == b"old photo"

    sets.publish(make_set(tmp_path, 1))
    assert shown_version(path) == 1
    assert (path / "photos" / "catalog" / "old.jpg").read_bytes() == b"old photo"   # photos only grow
    assert os.readlink(path).startswith("published.sets/")
    assert temporary_files(tmp_path / "published.sets") == []


def test_old_sets_are_kept_for_readers_for_a_while_then_removed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPSYNC_KEEP_SETS_SECONDS", "3600")
    sets = LocalSets(tmp_path / "p")
    for version in range(5):
        sets.publish(make_set(tmp_path, version))
    assert len([n for n in os.listdir(sets.sets) if n != "photos"]) == 5       # replaced less than an hour ago
    monkeypatch.setenv("SHOPSYNC_KEEP_SETS_SECONDS", "0")
    sets = LocalSets(tmp_path / "p")
    sets.publish(make_set(tmp_path, 5))
    assert len([n for n in os.listdir(sets.sets) if n != "photos"]) == 3       # the current and two before it


def _publish_and_die_at(step: int, publish: Callable[[], None], patch: Callable[[Callable[[], None]], None]) -> int:
    """In a forked child: count the destination operations and os._exit at number `step` (kill -9: no
    clean-up, no finally). Returns the exit code (9: killed there, 0: the publish had fewer steps)."""

    def child() -> None:
        calls = {"n": 0}

        def tick() -> None:
            calls["n"] += 1
            if calls["n"] == step:
                os._exit(9)

        patch(tick)
        publish()
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    return process.exitcode


def _patch_local_operations(monkeypatch_targets: list[tuple[object, str]]) -> Callable[[Callable[[], None]], None]:
    def patch(tick: Callable[[], None]) -> None:
        for owner, name in monkeypatch_targets:
            original = getattr(owner, name)

            def wrapped(*args, _original=original, **kwargs):
                tick()
                return _original(*args, **kwargs)

            setattr(owner, name, wrapped)

    return patch


def test_a_local_publish_killed_at_any_step_leaves_a_complete_set(tmp_path: Path) -> None:
    path = tmp_path / "feeds"
    LocalSets(path).publish(make_set(tmp_path, 0))
    patch = _patch_local_operations([(os, "link"), (os, "rename"), (os, "replace"), (os, "symlink")])
    step, killed, shown = 1, 0, 0
    while True:
        version = step
        new_set = make_set(tmp_path, version)
        code = _publish_and_die_at(step, lambda s=new_set: LocalSets(path).publish(s), patch)
        assert shown_version(path) in (shown, version)          # the last complete set, or the new one
        shown = shown_version(path)
        if code == 0:
            break
        killed += 1
        LocalSets(path).recover()                     # what the next publish does first
        assert temporary_files(path.parent) == []
        step += 1
    assert killed >= 8                                # photos, feeds, manifest, the link, the switch
    final = make_set(tmp_path, 100)
    LocalSets(path).publish(final)
    assert shown_version(path) == 100 and temporary_files(path.parent) == []


# -- remote ----------------------------------------------------------------------------------------------


REMOTE_KINDS = ["ftp_server", "plain_ftp_server", "sftp_server", "sftp_server_without_posix_rename", "http_server"]


def _remote(kind: str, server, tmp_path: Path, monkeypatch) -> tuple[config.Destination, Path]:
    if kind in ("ftp_server", "plain_ftp_server"):
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_REMOTE", server.uri)
        return config.Destination(kind="ftp", path="/shop/feeds", conn_id="shop_remote"), server.home / "shop/feeds"
    if kind in ("sftp_server", "sftp_server_without_posix_rename"):
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_REMOTE", server.password_uri)
        return config.Destination(kind="sftp", path="/shop/feeds", conn_id="shop_remote"), server.home / "shop/feeds"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_REMOTE", server.uri)
    return config.Destination(kind="http", path="/shop/feeds", conn_id="shop_remote"), server.root / "shop/feeds"


def _open(settings: config.Destination, tmp_path: Path):
    fast = RetryPolicy(attempts=2, first_delay=0.01)
    return open_set_destination(settings, tmp_path, tmp_path / "workspace", retry=fast)


def _publish(settings: config.Destination, tmp_path: Path, feed_set: FeedSet) -> list[str]:
    destination = _open(settings, tmp_path)
    try:
        recovered = destination.recover()
        destination.publish(feed_set)
    finally:
        destination.close()
    return recovered


@pytest.mark.parametrize("kind", REMOTE_KINDS)
def test_a_remote_publish_uploads_under_temporary_names_then_renames_with_the_manifest_last(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = request.getfixturevalue(kind)
    settings, root = _remote(kind, server, tmp_path, monkeypatch)
    _publish(settings, tmp_path, make_set(tmp_path, 0))
    seen_before_rename: list[list[str]] = []
    destination = _open(settings, tmp_path)
    original_rename = destination.transport.rename

    def rename(source: str, target: str) -> None:
        if not seen_before_rename:                    # the first rename: every upload is done, none renamed
            seen_before_rename.append(sorted(p.name for p in root.rglob("*") if p.is_file()))
            assert shown_version(root) == 0
        original_rename(source, target)

    destination.transport.rename = rename
    destination.publish(make_set(tmp_path, 1))
    destination.close()

    uploaded_first = seen_before_rename[0]
    assert len([name for name in uploaded_first if ".part-" in name]) == 3 + len(FEEDS) + 1
    assert shown_version(root) == 1
    assert temporary_files(root) == []
    assert not list((tmp_path / "workspace").glob("publish-journal.*"))


@pytest.mark.parametrize("kind", REMOTE_KINDS)
def test_a_remote_publish_killed_at_any_step_is_finished_or_rolled_back_by_the_next(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = request.getfixturevalue(kind)
    settings, root = _remote(kind, server, tmp_path, monkeypatch)
    _publish(settings, tmp_path, make_set(tmp_path, 0))
    owner = HttpDestination if kind == "http_server" else StoreTransport      # whose upload/rename die
    patch = _patch_local_operations([(owner, "upload"), (owner, "rename")])
    steps = 3 + len(FEEDS) + 1
    outcomes = []
    for step in range(1, 2 * steps + 2):
        version = step
        new_set = make_set(tmp_path, version)
        code = _publish_and_die_at(step, lambda s=new_set: _publish(settings, tmp_path, s), patch)
        if code == 0:
            break
        assert code == 9
        journal = json.loads(next((tmp_path / "workspace").glob("publish-journal.*")).read_text())
        recovered = _publish(settings, tmp_path, make_set(tmp_path, 1000 + step))   # the next run
        outcomes.append((journal["phase"], recovered[0].split()[0]))
        assert shown_version(root) == 1000 + step
        assert temporary_files(root) == []
    assert ("upload", "rolled") in outcomes and ("rename", "finished") in outcomes
    assert len(outcomes) == 2 * steps


def test_a_local_destination_that_cannot_be_written_is_a_clear_publish_error(tmp_path: Path) -> None:
    from shopsync.transport import PublishError

    (tmp_path / "not-a-directory").write_text("a file where the destination's parent should be")
    sets = LocalSets(tmp_path / "not-a-directory" / "feeds")
    with pytest.raises(PublishError, match="publish set .* on local .*not-a-directory/feeds"):
        sets.publish(make_set(tmp_path, 0))


@pytest.mark.parametrize("kind", ["ftp_server", "http_server"])
def test_a_journal_whose_temporary_files_vanished_does_not_block_the_next_publish(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = request.getfixturevalue(kind)
    settings, root = _remote(kind, server, tmp_path, monkeypatch)
    _publish(settings, tmp_path, make_set(tmp_path, 0))
    owner = HttpDestination if kind == "http_server" else StoreTransport
    first_rename = 3 + len(FEEDS) + 1 + 1
    code = _publish_and_die_at(first_rename, lambda: _publish(settings, tmp_path, make_set(tmp_path, 1)),
                               _patch_local_operations([(owner, "upload"), (owner, "rename")]))
    assert code == 9
    for leftover in [p for p in root.rglob("*") if ".part-" in p.name]:
        leftover.unlink()                             # someone tidied the server by hand

    recovered = _publish(settings, tmp_path, make_set(tmp_path, 2))

    assert recovered and shown_version(root) == 2 and temporary_files(root) == []
