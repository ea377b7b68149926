"""Publishable photos: originals resized to the shop's sizes, redone only when the original changed.

Each size is a bounding box: the picture keeps its aspect ratio, fits inside the box and is never
upscaled. Output is deterministic (same original and settings -> identical bytes): EXIF orientation
is applied, metadata dropped, colours converted to sRGB, JPEG written baseline (not progressive).

A JSON state file per shop remembers, for each (good_id, position), the database checksum of the
original and the names written for it. A photo whose checksum and settings are unchanged and whose
outputs still exist is skipped; outputs of photos no longer referenced (or no longer renderable)
are deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Literal

from PIL import Image, ImageCms, ImageOps

from shopsync.core.config import PhotoSettings

STATE_VERSION = 1
BATCH_SIZE = 16                 # photos per worker task: amortises process hand-off, keeps memory flat
BACKGROUND = (255, 255, 255)    # what transparent areas become (JPEG has no alpha)
EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}

ExecutorKind = Literal["thread", "process"]


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


@dataclass(frozen=True, slots=True)
class _Target:
    relative_name: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _Job:
    key: str
    original: str               # absolute path
    expected_checksum: str
    targets: tuple[_Target, ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    key: str
    error: str | None = None
    checksum_mismatch: str | None = None


# --- public entry point -------------------------------------------------------------------------

def process_photos(
    refs: Iterable[PhotoRef],
    originals_root: Path,
    output_dir: Path,
    settings: PhotoSettings,
    state_path: Path,
    workers: int = 2,
    executor: ExecutorKind = "thread",
    content_addressed: bool = False,
) -> PhotoReport:
    """Bring output_dir in line with refs; the report says what to upload and what was deleted.

    content_addressed names outputs after the original's checksum (`<size>/<checksum[:24]>.jpg`), so a
    photo shared by many goods (sizes and colours of one model) is resized and uploaded once; the
    report's `available` is then left empty (callers map goods to names with `content_name`).

    Threads are the default: Pillow releases the GIL while decoding, resizing and encoding, and on
    2 cores two threads were as fast as two processes (bench/photos.py), without pickling or child
    processes (which daemonic executor workers, e.g. Celery's, may not start).
    """
    report = PhotoReport()
    fingerprint = settings_fingerprint(settings)
    old_entries = load_state(state_path, fingerprint)
    new_entries: dict[str, dict] = {}
    naming = BY_CONTENT if content_addressed else BY_POSITION
    wanted = _unique_refs(refs, naming)

    jobs: list[_Job] = []
    for key, ref in wanted.items():
        targets = _targets(ref, settings, naming)
        outputs = [t.relative_name for t in targets]
        if _is_unchanged(old_entries.get(key), ref, outputs, output_dir):
            report.unchanged += 1
            new_entries[key] = old_entries[key]
            continue
        original = _resolve_original(originals_root, ref.original_path)
        if original is None:
            report.failed.append(_problem(ref, f"original photo path leaves the photo root: {ref.original_path}"))
            continue
        jobs.append(_Job(key, str(original), ref.checksum, tuple(targets)))

    completed = False
    try:
        for outcome in _run_jobs(jobs, output_dir, settings, workers, executor):
            ref = wanted[outcome.key]
            if outcome.error:
                report.failed.append(_problem(ref, outcome.error))
                continue
            if outcome.checksum_mismatch:
                report.warnings.append(_problem(ref, outcome.checksum_mismatch))
            outputs = [t.relative_name for t in _targets(ref, settings, naming)]
            new_entries[outcome.key] = {"checksum": ref.checksum, "original": ref.original_path, "outputs": outputs}
            report.processed += 1
            report.changed_files.extend(outputs)
        completed = True
    finally:
        if completed:
            report.removed = _remove_stale_outputs(old_entries, new_entries, output_dir)
            save_state(state_path, fingerprint, new_entries)
        else:
            # Interrupted: keep what was rendered, delete nothing; pending photos are retried next run.
            save_state(state_path, fingerprint, {**old_entries, **new_entries})

    report.changed_files.sort()
    report.failed.sort(key=lambda p: (p.good_id, p.position))
    report.available = {} if content_addressed else _available(wanted, new_entries, settings)
    return report


# --- state ---------------------------------------------------------------------------------------

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
    """Entries by 'good_id:position'; with other settings the outputs are kept only for cleanup."""
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


# --- planning ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Naming:
    """How a photo is keyed in the state and named on disk."""
    key: Callable[[PhotoRef], str]
    name: Callable[[str, PhotoRef, str], str]      # (size name, ref, image format) -> relative output name


def output_name(size_name: str, good_id: int, position: int, image_format: str) -> str:
    return f"{size_name}/{good_id}_{position}.{EXTENSIONS[image_format]}"


def content_name(checksum: str, image_format: str) -> str:
    """The file name of a content-addressed output (the same in every size directory)."""
    return f"{checksum[:24]}.{EXTENSIONS[image_format]}"


BY_POSITION = _Naming(
    key=lambda ref: f"{ref.good_id}:{ref.position}",
    name=lambda size, ref, fmt: output_name(size, ref.good_id, ref.position, fmt),
)
BY_CONTENT = _Naming(
    key=lambda ref: ref.checksum,
    name=lambda size, ref, fmt: f"{size}/{content_name(ref.checksum, fmt)}",
)


def _unique_refs(refs: Iterable[PhotoRef], naming: _Naming) -> dict[str, PhotoRef]:
    wanted: dict[str, PhotoRef] = {}
    for ref in refs:
        wanted.setdefault(naming.key(ref), ref)   # first wins
    return wanted


def detail_size_name(settings: PhotoSettings) -> str:
    """The size feeds link to: the one `photos.detail_size` names, else the largest (first of equals)."""
    if settings.detail_size:
        return settings.detail_size
    return max(settings.sizes, key=lambda s: s.width * s.height).name


def _targets(ref: PhotoRef, settings: PhotoSettings, naming: _Naming) -> list[_Target]:
    return [_Target(naming.name(s.name, ref, settings.format), s.width, s.height) for s in settings.sizes]


def _is_unchanged(entry: dict | None, ref: PhotoRef, outputs: list[str], output_dir: Path) -> bool:
    return (
        entry is not None
        and entry.get("checksum") == ref.checksum
        and entry.get("outputs") == outputs
        and all((output_dir / name).is_file() for name in outputs)
    )


def _resolve_original(originals_root: Path, original_path: str) -> Path | None:
    """The original's absolute path, or None when the database path points outside the root."""
    root = originals_root.resolve()
    candidate = (root / original_path).resolve()
    return candidate if candidate.is_relative_to(root) else None


def _problem(ref: PhotoRef, reason: str) -> PhotoProblem:
    return PhotoProblem(ref.good_id, ref.position, ref.original_path, reason)


def _available(wanted: dict[str, PhotoRef], entries: dict[str, dict], settings: PhotoSettings) -> dict[int, list[str]]:
    detail = detail_size_name(settings)
    by_good: dict[int, list[tuple[int, str]]] = {}
    for key, ref in wanted.items():
        if key in entries:
            name = output_name(detail, ref.good_id, ref.position, settings.format)
            by_good.setdefault(ref.good_id, []).append((ref.position, name))
    return {good_id: [name for _, name in sorted(pairs)] for good_id, pairs in sorted(by_good.items())}


def _remove_stale_outputs(old: dict[str, dict], new: dict[str, dict], output_dir: Path) -> list[str]:
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


# --- execution -----------------------------------------------------------------------------------

def _run_jobs(
    jobs: list[_Job], output_dir: Path, settings: PhotoSettings, workers: int, executor: ExecutorKind,
) -> Iterator[_Outcome]:
    if not jobs:
        return
    for size in settings.sizes:
        (output_dir / size.name).mkdir(parents=True, exist_ok=True)
    batches = list(_batched(jobs, BATCH_SIZE))
    render = partial(_render_batch, output_dir=str(output_dir), image_format=settings.format, quality=settings.quality)
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


def _batched(items: list[_Job], size: int) -> Iterator[list[_Job]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _render_batch(batch: list[_Job], output_dir: str, image_format: str, quality: int) -> list[_Outcome]:
    """Runs in a worker: must stay a module-level function (picklable for processes)."""
    return [_render_one(job, Path(output_dir), image_format, quality) for job in batch]


def _render_one(job: _Job, output_dir: Path, image_format: str, quality: int) -> _Outcome:
    original = Path(job.original)
    try:
        data = original.read_bytes()
    except FileNotFoundError:
        return _Outcome(job.key, error=f"original photo not found: {original}")
    except OSError as exc:
        return _Outcome(job.key, error=f"original photo cannot be read: {original}: {exc.strerror}")
    try:
        picture, full_size = _prepared(data, [(t.width, t.height) for t in job.targets])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return _Outcome(job.key, error=f"original photo is not a readable image: {original}")

    # Largest first; a smaller size is made from the previous result when that is still big enough
    # (a fraction of the work of starting from the original again, same look).
    source = picture
    for target in sorted(job.targets, key=lambda t: t.width * t.height, reverse=True):
        size = fitted_size(*full_size, target.width, target.height)
        if source.width < size[0] or source.height < size[1]:
            source = picture
        source = _resized(source, size)
        _write_atomically(output_dir / target.relative_name, _encode(source, image_format, quality))

    actual = hashlib.sha256(data).hexdigest()
    mismatch = None
    if job.expected_checksum and actual != job.expected_checksum.lower():
        mismatch = (f"original photo changed after the database recorded it (sha256 {actual[:12]}…, "
                    f"database {job.expected_checksum[:12]}…): published from the file as it is now")
    return _Outcome(job.key, checksum_mismatch=mismatch)


# --- imaging -------------------------------------------------------------------------------------

_SRGB = None
EXIF_ORIENTATION = 0x0112
TURNED_ORIENTATIONS = {5, 6, 7, 8}                     # EXIF orientations that swap width and height


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _prepared(data: bytes, boxes: list[tuple[int, int]]) -> tuple[Image.Image, tuple[int, int]]:
    """Decoded (maybe at reduced scale), upright, sRGB, no metadata, and the upright full size.

    Raises OSError, SyntaxError or ValueError when the data is not a readable image.
    """
    with Image.open(io.BytesIO(data)) as opened:
        turned = opened.getexif().get(EXIF_ORIENTATION, 1) in TURNED_ORIENTATIONS
        width, height = opened.size
        full_size = (height, width) if turned else (width, height)
        _decode_reduced(opened, boxes, turned)
        opened.load()                                  # decode now: truncated files fail here
        upright = ImageOps.exif_transpose(opened)
        icc = opened.info.get("icc_profile")
    rgb = _to_rgb(upright)
    if icc:
        rgb = _to_srgb(rgb, icc)
    rgb.info = {}                                      # no EXIF, ICC, comments: smaller and deterministic
    return rgb, full_size


def _decode_reduced(opened: Image.Image, boxes: list[tuple[int, int]], turned: bool) -> None:
    """Let JPEG decode at 1/2, 1/4 or 1/8 scale when every output is at least that much smaller."""
    if opened.format != "JPEG":
        return
    if turned:
        boxes = [(height, width) for width, height in boxes]   # the boxes apply after the quarter turn
    sizes = [fitted_size(*opened.size, *box) for box in boxes]
    opened.draft(opened.mode, (max(w for w, _ in sizes), max(h for _, h in sizes)))


def _to_rgb(picture: Image.Image) -> Image.Image:
    if picture.mode == "P" and "transparency" in picture.info:
        picture = picture.convert("RGBA")
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = picture.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, BACKGROUND)
        flattened.paste(rgba, mask=rgba.getchannel("A"))
        return flattened
    return picture.convert("RGB") if picture.mode != "RGB" else picture


def _to_srgb(picture: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(picture, source, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return picture                                 # a broken embedded profile: keep the pixels as they are


def fitted_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """Largest size with the same aspect that fits the box; never larger than the original."""
    scale = min(box_width / width, box_height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    if size == picture.size:
        return picture
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _encode(picture: Image.Image, image_format: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if image_format == "webp":
        picture.save(buffer, "WEBP", quality=quality, method=4, exact=False)
    else:
        picture.save(buffer, "JPEG", quality=quality, optimize=True, progressive=False)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """The web server never serves a half-written picture."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
