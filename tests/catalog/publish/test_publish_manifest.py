"""The manifest: sizes, checksums and rows of a published set; written as stable JSON; published last."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopsync.catalog.publish.manifest import ManifestEntry, build_manifest, publish_with_manifest, write_manifest
from shopsync.core import config
from shopsync.transport import OutgoingFile, PublishError, PutResult, RetryPolicy, open_destination

MakeFile = Callable[[str, bytes], Path]
INTERVAL = (datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC))
PUBLISHED_AT = datetime(2026, 3, 1, 11, 2, 3, tzinfo=UTC)


def test_manifest_lists_size_sha256_and_rows(make_file: MakeFile) -> None:
    feed = make_file("feed.csv", "Назва\nЧай\nКава\n".encode())
    photo = make_file("1.jpg", b"\xff\xd8jpeg")

    manifest = build_manifest(
        [ManifestEntry("photos/1.jpg", photo), ManifestEntry("feed.csv", feed, rows=2)], INTERVAL, PUBLISHED_AT
    )

    assert manifest == {
        "version": 1,
        "data_interval": {"start": "2026-03-01T10:00:00+00:00", "end": "2026-03-01T11:00:00+00:00"},
        "published_at": "2026-03-01T11:02:03+00:00",
        "files": [
            {"name": "feed.csv", "size": feed.stat().st_size, "rows": 2,
             "sha256": hashlib.sha256(feed.read_bytes()).hexdigest()},
            {"name": "photos/1.jpg", "size": 6, "rows": None, "sha256": hashlib.sha256(b"\xff\xd8jpeg").hexdigest()},
        ],
    }


def test_manifest_file_is_sorted_pretty_utf8_json(tmp_path: Path, make_file: MakeFile) -> None:
    manifest = build_manifest([ManifestEntry("ціни.csv", make_file("a", b"x"), rows=1)], INTERVAL, PUBLISHED_AT)

    path = write_manifest(manifest, tmp_path / "manifest.json")

    text = path.read_text(encoding="utf-8")
    assert "ціни.csv" in text  # not \u-escaped
    assert text == json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert json.loads(text) == manifest


class RecordingDestination:
    def __init__(self, fail_on: str | None = None) -> None:
        self.published: list[str] = []
        self.fail_on = fail_on

    def put(self, files: Sequence[OutgoingFile]) -> list[PutResult]:
        results = []
        for file in files:
            if file.remote_name == self.fail_on:
                raise PublishError(f"publish {file.remote_name}: failed")
            self.published.append(file.remote_name)
            results.append(PutResult(file.remote_name, 0, "", 1))
        return results

    def get(self, remote_name: str) -> bytes | None:
        return None

    def close(self) -> None:
        pass


def test_manifest_is_published_last(make_file: MakeFile) -> None:
    destination = RecordingDestination()
    files = [OutgoingFile(make_file("a", b"a"), "feed.csv"), OutgoingFile(make_file("b", b"b"), "photos/1.jpg")]

    publish_with_manifest(destination, files, OutgoingFile(make_file("m", b"{}"), "manifest.json"))

    assert destination.published == ["feed.csv", "photos/1.jpg", "manifest.json"]


def test_failed_file_means_no_new_manifest(make_file: MakeFile) -> None:
    destination = RecordingDestination(fail_on="photos/1.jpg")
    files = [OutgoingFile(make_file("a", b"a"), "feed.csv"), OutgoingFile(make_file("b", b"b"), "photos/1.jpg")]

    with pytest.raises(PublishError):
        publish_with_manifest(destination, files, OutgoingFile(make_file("m", b"{}"), "manifest.json"))

    assert "manifest.json" not in destination.published


def test_manifest_round_trip_through_a_real_destination(
    tmp_path: Path, make_file: MakeFile, fast_retry: RetryPolicy
) -> None:
    feed = make_file("feed.csv", b"a\nb\n")
    manifest_path = write_manifest(
        build_manifest([ManifestEntry("feed.csv", feed, rows=1)], INTERVAL, PUBLISHED_AT), tmp_path / "manifest.json"
    )
    destination = open_destination(config.Destination(kind="local", path="out"), tmp_path, retry=fast_retry)

    publish_with_manifest(destination, [OutgoingFile(feed, "feed.csv")], OutgoingFile(manifest_path, "manifest.json"))

    published = json.loads(destination.get("manifest.json") or b"")
    [entry] = published["files"]
    assert entry["sha256"] == hashlib.sha256(destination.get("feed.csv") or b"").hexdigest()
