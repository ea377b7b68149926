"""The bookkeeping of publishable photos: references, output names, the report and the per-shop state file.

The state file remembers, for each photo key (`good_id:position`, or the checksum when names are content
addressed), the database checksum of the original and the names written for it. A photo whose checksum
and settings are unchanged and whose outputs still exist is skipped; outputs of photos no longer
referenced (or no longer renderable) are deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shopsync.core.config import PhotoSettings

STATE_VERSION = 1
EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True, slots=True)
class PhotoRef:
    good_id: int
    position: int
    original_path: str          # relative to the originals root
    checksum: str               # sha256 of the original, as the database recorded it


@dataclass(frozen=True, slots=True)
class PhotoProblem:
    good_id: int
    position: int
    original_path: str
    reason: str


@dataclass
class PhotoReport:
    processed: int = 0
    unchanged: int = 0
    failed: list[PhotoProblem] = field(default_factory=list)
    warnings: list[PhotoProblem] = field(default_factory=list)   # rendered, but worth a look
    available: dict[int, list[str]] = field(default_factory=dict)
    changed_files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"photos: {self.processed} processed, {self.unchanged} unchanged, {len(self.failed)} failed, "
                f"{len(self.changed_files)} files to upload, {len(self.removed)} removed")


def problem(ref: PhotoRef, reason: str) -> PhotoProblem:
    return PhotoProblem(ref.good_id, ref.position, ref.original_path, reason)


# --- names ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Naming:
    """How a photo is keyed in the state and named on disk."""
    key: Callable[[PhotoRef], str]
    name: Callable[[str, PhotoRef, str], str]      # (size name, ref, image format) -> relative output name


def output_name(size_name: str, good_id: int, position: int, image_format: str) -> str:
    return f"{size_name}/{good_id}_{position}.{EXTENSIONS[image_format]}"


def content_name(checksum: str, image_format: str) -> str:
    """The file name of a content-addressed output (the same in every size directory)."""
    return f"{checksum[:24]}.{EXTENSIONS[image_format]}"


BY_POSITION = Naming(
    key=lambda ref: f"{ref.good_id}:{ref.position}",
    name=lambda size, ref, fmt: output_name(size, ref.good_id, ref.position, fmt),
)
BY_CONTENT = Naming(
    key=lambda ref: ref.checksum,
    name=lambda size, ref, fmt: f"{size}/{content_name(ref.checksum, fmt)}",
)


def detail_size_name(settings: PhotoSettings) -> str:
    """The size feeds link to: the one `photos.detail_size` names, else the largest (first of equals)."""
    if settings.detail_size:
        return settings.detail_size
    return max(settings.sizes, key=lambda s: s.width * s.height).name


def output_names(ref: PhotoRef, settings: PhotoSettings, naming: Naming) -> list[str]:
    """The ref's outputs, one per size, in the order of the settings."""
    return [naming.name(size.name, ref, settings.format) for size in settings.sizes]


def unique_refs(refs: Iterable[PhotoRef], naming: Naming) -> dict[str, PhotoRef]:
    wanted: dict[str, PhotoRef] = {}
    for ref in refs:
        wanted.setdefault(naming.key(ref), ref)   # first wins
    return wanted


# --- the state file ------------------------------------------------------------------------------

def settings_fingerprint(settings: PhotoSettings) -> str:
    """The settings that shape the output: a different fingerprint redoes every photo.

    The Pillow version is left out on purpose: an upgrade may change bytes, not what the picture shows,
    and re-uploading the whole catalog for it is not worth it.
    """
    relevant = {
        "sizes": [(s.name, s.width, s.height) for s in settings.sizes],
        "format": settings.format,
        "quality": settings.quality,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def load_state(state_path: Path, fingerprint: str) -> dict[str, dict]:
    """Entries by photo key; with other settings the outputs are kept only for cleanup."""
    try:
        data = json.loads(state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}     # unreadable state: everything is redone, nothing is lost
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return {}
    entries = data.get("photos") or {}
    if data.get("settings") != fingerprint:
        # Outputs still need deleting if no longer wanted, but no entry counts as unchanged.
        return {key: {**entry, "checksum": None} for key, entry in entries.items()}
    return entries


def save_state(state_path: Path, fingerprint: str, entries: dict[str, dict]) -> None:
    state_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": STATE_VERSION, "settings": fingerprint, "photos": dict(sorted(entries.items()))}
    temporary = state_path.with_name(state_path.name + ".tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")
    os.replace(temporary, state_path)


def state_entry(ref: PhotoRef, outputs: list[str]) -> dict:
    return {"checksum": ref.checksum, "original": ref.original_path, "outputs": outputs}


def is_unchanged(entry: dict | None, ref: PhotoRef, outputs: list[str], output_dir: Path) -> bool:
    return (
        entry is not None
        and entry.get("checksum") == ref.checksum
        and entry.get("outputs") == outputs
        and all((output_dir / name).is_file() for name in outputs)
    )


def available(wanted: dict[str, PhotoRef], entries: dict[str, dict], settings: PhotoSettings) -> dict[int, list[str]]:
    """The detail-size outputs each good has, by position (position-named outputs only)."""
    detail = detail_size_name(settings)
    by_good: dict[int, list[tuple[int, str]]] = {}
    for key, ref in wanted.items():
        if key in entries:
            name = output_name(detail, ref.good_id, ref.position, settings.format)
            by_good.setdefault(ref.good_id, []).append((ref.position, name))
    return {good_id: [name for _, name in sorted(pairs)] for good_id, pairs in sorted(by_good.items())}


def remove_stale_outputs(old: dict[str, dict], new: dict[str, dict], output_dir: Path) -> list[str]:
    """Delete the outputs only old entries name; returns their names."""
    keep = {name for entry in new.values() for name in entry.get("outputs", [])}
    stale = sorted({name for entry in old.values() for name in entry.get("outputs", [])} - keep)
    removed = []
    for name in stale:
        try:
            (output_dir / name).unlink()
        except FileNotFoundError:
            pass
        removed.append(name)
    return removed
