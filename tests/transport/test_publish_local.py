"""Publishing to a local directory: subdirectories, overwrite, atomic replace, retries, clean failure."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from shopsync.core import config
from shopsync.core.errors import ShopsyncError
from shopsync.transport import OutgoingFile, PublishError, RetryPolicy, open_destination

BIG = 20 * 1024 * 1024

MakeFile = Callable[[str, bytes], Path]


def local_destination(tmp_path: Path, retry: RetryPolicy, path: str = "site/feeds"):
    return open_destination(config.Destination(kind="local", path=path), base_dir=tmp_path, retry=retry)


def files_in(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_put_with_subdirectories_and_read_back(tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy) -> None:
    feed = make_file("feed.csv", "Артикул;Ціна\n1;10\n".encode())
    photo = make_file("12_0.jpg", os.urandom(5000))
    destination = local_destination(tmp_path, fast_retry)

    results = destination.put([OutgoingFile(feed, "feed.csv"), OutgoingFile(photo, "photos/catalog/12_0.jpg")])

    target = tmp_path / "site/feeds"
    assert files_in(target) == ["feed.csv", "photos/catalog/12_0.jpg"]
    assert destination.get("feed.csv") == feed.read_bytes()
    assert destination.get("photos/catalog/12_0.jpg") == photo.read_bytes()
    assert destination.get("missing.csv") is None
    assert [(r.remote_name, r.size, r.attempts) for r in results] == [
        ("feed.csv", feed.stat().st_size, 1), ("photos/catalog/12_0.jpg", 5000, 1)]
    assert results[1].sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_absolute_local_path_is_used_as_is(tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy) -> None:
    target = tmp_path / "absolute"
    destination = local_destination(tmp_path / "elsewhere", fast_retry, path=str(target))

    destination.put([OutgoingFile(make_file("a.csv", b"a"), "a.csv")])

    assert (target / "a.csv").read_bytes() == b"a"


def test_overwrite_replaces_every_file_of_the_set(tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy) -> None:
    destination = local_destination(tmp_path, fast_retry)
    destination.put([
        OutgoingFile(make_file("v1/a.csv", b"a1"), "a.csv"), OutgoingFile(make_file("v1/b", b"b1"), "x/b"),
    ])

    destination.put([
        OutgoingFile(make_file("v2/a.csv", b"a2"), "a.csv"), OutgoingFile(make_file("v2/b", b"b2"), "x/b"),
    ])

    assert (destination.get("a.csv"), destination.get("x/b")) == (b"a2", b"b2")
    assert files_in(tmp_path / "site/feeds") == ["a.csv", "x/b"]  # no temporary files left


@pytest.mark.parametrize("bad_name", ["/etc/passwd", "../outside.csv", "a/../../b", "", "a//b", "a\\b"])
def test_names_outside_the_destination_are_refused(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, bad_name: str
) -> None:
    destination = local_destination(tmp_path, fast_retry)

    with pytest.raises(PublishError):
        destination.put([OutgoingFile(make_file("a.csv", b"a"), bad_name)])


def test_reader_only_ever_sees_a_complete_file(tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy) -> None:
    old, new = os.urandom(BIG), os.urandom(BIG)
    versions = {hashlib.sha256(old).hexdigest(): "old", hashlib.sha256(new).hexdigest(): "new"}
    old_file, new_file = make_file("old.bin", old), make_file("new.bin", new)
    destination = local_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(old_file, "big.bin")])
    target = tmp_path / "site/feeds/big.bin"
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen.append(versions.get(hashlib.sha256(target.read_bytes()).hexdigest(), "TORN"))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for source in (new_file, old_file, new_file):
            destination.put([OutgoingFile(source, "big.bin")])
    finally:
        done.set()
        thread.join()

    assert seen and "TORN" not in seen
    assert target.read_bytes() == new


def test_a_failing_replace_is_retried(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    failures = iter([OSError(28, "No space left on device")] * 2)

    def flaky_replace(source, target) -> None:
        if (error := next(failures, None)) is not None:
            raise error
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", flaky_replace)
    destination = local_destination(tmp_path, fast_retry)

    [result] = destination.put([OutgoingFile(make_file("a.csv", b"new"), "a.csv")])

    assert result.attempts == 3
    assert files_in(tmp_path / "site/feeds") == ["a.csv"]


def test_failure_after_retries_keeps_the_previous_file_and_no_temp_files(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = local_destination(tmp_path, fast_retry)
    destination.put([OutgoingFile(make_file("v1.csv", b"previous"), "sub/a.csv")])

    def broken_replace(source, target) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)

    with pytest.raises(PublishError) as caught:
        destination.put([OutgoingFile(make_file("v2.csv", b"next"), "sub/a.csv")])

    assert isinstance(caught.value, ShopsyncError)
    assert "after 3 attempt(s)" in str(caught.value) and "sub/a.csv" in str(caught.value)
    assert (tmp_path / "site/feeds/sub/a.csv").read_bytes() == b"previous"
    assert files_in(tmp_path / "site/feeds") == ["sub/a.csv"]


def test_missing_source_file_is_an_error(tmp_path: Path, fast_retry: RetryPolicy) -> None:
    destination = local_destination(tmp_path, fast_retry)

    with pytest.raises(FileNotFoundError):
        destination.put([OutgoingFile(tmp_path / "nope.csv", "a.csv")])
