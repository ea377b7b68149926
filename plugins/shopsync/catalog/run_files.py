"""The files one stage of an export run leaves in the run directory for the next: typed, not dicts with string keys.

Each file keeps the JSON layout it always had (a run directory written before still reads); a stage reads
`meta.mode`, not `meta["mode"]`. What the stages return to Airflow (XCom) stays plain JSON-able dicts.

    changes/<dataset>.ids.json   ChangesMeta        extract -> merge, photos, build, validate, publish
    position.json                DatabasePositions  build -> publish (the publish order rule)
    feeds.json                   FeedFileStats      build -> validate, publish
    read-back.json               ReadBackNotes      build -> validate
    snapshot-counts.json         SnapshotCounts     build -> the database check
    rejections.json              Rejections         build -> validate (the report)
    photo-problems.json          FailedPhoto        resize (for people)

Beside them, in the shop's workspace, the publish bookkeeping per destination: the photos sent to it and a
copy of the last manifest published there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopsync.catalog.run import DATASETS, ExportRun
from shopsync.catalog.workspace import ShopWorkspace, read_json, write_json

if TYPE_CHECKING:
    from shopsync.catalog.validation.rules import Rejections


# --- changes/<dataset>.ids.json ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChangesMeta:
    """What an extract read (and, once merged, between which states of the snapshot its merge went)."""
    mode: str                               # "full" or "incremental"
    ids: tuple[int, ...] | None             # the changed ids of an incremental extract; None for a full one
    extracted_at: datetime                  # when the extract's transaction read the database
    position: str | None = None             # that transaction's database position (position.py)
    full_reason: str | None = None          # why the extract was full (identity.py)
    content_settings: str | None = None     # the content fingerprint it was read with (identity.py)
    database: dict[str, Any] | None = None  # the database identity it was read from (identity.py)
    previous_snapshot_token: str | None = None   # set by the merge: the snapshot state before it...
    snapshot_token: str | None = None            # ...and after it (None: not merged yet)

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChangesMeta:
        ids = data["ids"]
        return cls(
            mode=data["mode"], ids=None if ids is None else tuple(ids),
            extracted_at=datetime.fromisoformat(data["extracted_at"]), position=data.get("position"),
            full_reason=data.get("full_reason"), content_settings=data.get("content_settings"),
            database=data.get("database"), previous_snapshot_token=data.get("previous_snapshot_token"),
            snapshot_token=data.get("snapshot_token"),
        )

    def to_json(self) -> dict[str, Any]:
        data = {
            "mode": self.mode, "ids": None if self.ids is None else list(self.ids),
            "extracted_at": self.extracted_at.isoformat(), "position": self.position,
            "full_reason": self.full_reason, "content_settings": self.content_settings, "database": self.database,
        }
        if self.snapshot_token is not None:        # written by the merge only
            data |= {"previous_snapshot_token": self.previous_snapshot_token, "snapshot_token": self.snapshot_token}
        return data


def read_changes(run: ExportRun, dataset: str) -> ChangesMeta | None:
    """None when the run did not extract the data set (yet)."""
    data = read_json(run.workspace.changed_ids_path(run.key, dataset))
    return None if data is None else ChangesMeta.from_json(data)


def write_changes(run: ExportRun, dataset: str, meta: ChangesMeta) -> None:
    write_json(run.workspace.changed_ids_path(run.key, dataset), meta.to_json())


# --- position.json -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatabasePositions:
    """The database position (position.py) of each data set the run's feeds were built from."""
    by_dataset: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> DatabasePositions:
        """The positions the workspace state records for the snapshots (data sets without one are left out)."""
        return cls({dataset: state[dataset]["position"] for dataset in DATASETS
                    if state.get(dataset, {}).get("position")})

    def to_json(self) -> dict[str, str]:
        return dict(self.by_dataset)


def read_positions(run: ExportRun) -> DatabasePositions:
    return DatabasePositions(read_json(run.run_dir_path("position.json"), {}))


def write_positions(run: ExportRun, positions: DatabasePositions) -> None:
    write_json(run.run_dir_path("position.json"), positions.to_json())


# --- feeds.json ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedFileStats:
    """One feed file the build wrote."""
    file: str
    profile: str
    rows: int
    bytes: int
    skipped: int = 0
    replaced_chars: int = 0                 # characters the feed's encoding lacks, written as '?'
    truncated: int = 0
    replaced_examples: tuple[str, ...] = ()
    mtime_ns: int | None = None             # validation checks that the file read back is still this one

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedFileStats:
        return cls(
            file=data["file"], profile=data["profile"], rows=data["rows"], bytes=data["bytes"],
            skipped=data.get("skipped", 0), replaced_chars=data.get("replaced_chars", 0),
            truncated=data.get("truncated", 0), replaced_examples=tuple(data.get("replaced_examples", ())),
            mtime_ns=data.get("mtime_ns"),
        )

    def to_json(self) -> dict[str, Any]:
        data = {"file": self.file, "profile": self.profile, "rows": self.rows, "bytes": self.bytes,
                "skipped": self.skipped, "replaced_chars": self.replaced_chars, "truncated": self.truncated,
                "replaced_examples": list(self.replaced_examples)}
        return data if self.mtime_ns is None else data | {"mtime_ns": self.mtime_ns}


def read_feed_stats(run: ExportRun) -> list[FeedFileStats]:
    return [FeedFileStats.from_json(entry) for entry in read_json(run.run_dir_path("feeds.json"), [])]


def write_feed_stats(run: ExportRun, stats: Iterable[FeedFileStats]) -> None:
    write_json(run.run_dir_path("feeds.json"), [entry.to_json() for entry in stats])


# --- read-back.json and snapshot-counts.json -----------------------------------------------------------------

@dataclass(frozen=True)
class ReadBackNotes:
    """What reading the written feeds back found, per feed file (render.rows.ReadBack)."""
    missing_columns: Mapping[str, list[str]] = field(default_factory=dict)       # feed columns (CSV header)
    absent_offer_columns: Mapping[str, list[str]] = field(default_factory=dict)  # hence absent offer columns
    problems: Mapping[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReadBackNotes:
        return cls(data.get("missing_columns", {}), data.get("absent_offer_columns", {}), data.get("problems", {}))

    def to_json(self) -> dict[str, Any]:
        return {"missing_columns": dict(self.missing_columns), "absent_offer_columns": dict(self.absent_offer_columns),
                "problems": dict(self.problems)}


def read_read_back(run: ExportRun) -> ReadBackNotes:
    return ReadBackNotes.from_json(read_json(run.run_dir_path("read-back.json"), {}))


def write_read_back(run: ExportRun, notes: ReadBackNotes) -> None:
    write_json(run.run_dir_path("read-back.json"), notes.to_json())


@dataclass(frozen=True)
class SnapshotCounts:
    """The goods of the snapshot the feeds were built from, and how many of them are visible."""
    goods: int
    visible: int

    @classmethod
    def from_json(cls, data: Mapping[str, int]) -> SnapshotCounts:
        return cls(goods=data["goods"], visible=data["visible"])

    def to_json(self) -> dict[str, int]:
        return {"goods": self.goods, "visible": self.visible}


def read_snapshot_counts(run: ExportRun) -> SnapshotCounts:
    return SnapshotCounts.from_json(read_json(run.run_dir_path("snapshot-counts.json")))


def write_snapshot_counts(run: ExportRun, counts: SnapshotCounts) -> None:
    write_json(run.run_dir_path("snapshot-counts.json"), counts.to_json())


# --- rejections.json -----------------------------------------------------------------------------------------

def read_rejections(run: ExportRun) -> Rejections:
    from shopsync.catalog.validation.rules import RejectedItem, Rejections

    items = read_json(run.run_dir_path("rejections.json"), [])
    return Rejections([RejectedItem(r["good_id"], r["name"], tuple(r["reasons"])) for r in items])


def write_rejections(run: ExportRun, rejections: Rejections) -> None:
    write_json(run.run_dir_path("rejections.json"),
               [{"good_id": r.good_id, "name": r.name, "reasons": list(r.reasons)} for r in rejections.items])


# --- photo-problems.json -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FailedPhoto:
    """A photo the resize could not make (the feeds leave it out)."""
    good_id: int
    position: int
    original: str
    reason: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FailedPhoto:
        return cls(data["good_id"], data["position"], data["original"], data["reason"])

    def to_json(self) -> dict[str, Any]:
        return {"good_id": self.good_id, "position": self.position, "original": self.original,
                "reason": self.reason}


def read_photo_problems(run: ExportRun) -> list[FailedPhoto]:
    return [FailedPhoto.from_json(entry) for entry in read_json(run.run_dir_path("photo-problems.json"), [])]


def write_photo_problems(run: ExportRun, problems: Sequence[FailedPhoto]) -> None:
    write_json(run.run_dir_path("photo-problems.json"), [problem.to_json() for problem in problems])


# --- publish bookkeeping in the workspace, per destination (named by publish.sets.identity_key) ---------------

def _uploaded_photos_path(workspace: ShopWorkspace, destination_key: str) -> Path:
    return workspace.root / f"uploaded-photos.{destination_key}.json"


def read_uploaded_photos(workspace: ShopWorkspace, destination_key: str) -> set[str]:
    """The photos (names under photos/) sent to a destination that cannot be asked which it has."""
    return set(read_json(_uploaded_photos_path(workspace, destination_key), []))


def write_uploaded_photos(workspace: ShopWorkspace, destination_key: str, names: Iterable[str]) -> None:
    write_json(_uploaded_photos_path(workspace, destination_key), sorted(names))


def _published_manifest_path(workspace: ShopWorkspace, destination_key: str) -> Path:
    return workspace.root / f"published-manifest.{destination_key}.json"


def read_published_manifest(workspace: ShopWorkspace, destination_key: str) -> dict[str, Any] | None:
    """The workspace's copy of the last manifest published to a destination (None: nothing published yet)."""
    return read_json(_published_manifest_path(workspace, destination_key))


def write_published_manifest(workspace: ShopWorkspace, destination_key: str, manifest: Mapping[str, Any]) -> None:
    write_json(_published_manifest_path(workspace, destination_key), manifest)
