"""Rendering photos in a worker: each original read once, resized to every size, encoded and written.

Each size is a bounding box: the picture keeps its aspect ratio, fits inside the box and is never
upscaled. Output is deterministic (same original and settings -> identical bytes): EXIF orientation
is applied, metadata dropped, colours converted to sRGB, JPEG written baseline (not progressive).
Jobs and outcomes are small picklable values, so a batch can run in a thread or another process.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

BACKGROUND = (255, 255, 255)    # what transparent areas become (JPEG has no alpha)


@dataclass(frozen=True, slots=True)
class RenderTarget:
    relative_name: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class RenderJob:
    key: str
    original: str               # absolute path
    expected_checksum: str
    targets: tuple[RenderTarget, ...]


@dataclass(frozen=True, slots=True)
class RenderOutcome:
    key: str
    error: str | None = None
    checksum_mismatch: str | None = None


def render_batch(batch: list[RenderJob], output_dir: str, image_format: str, quality: int) -> list[RenderOutcome]:
    """Runs in a worker: must stay a module-level function (picklable for processes)."""
    return [_render_one(job, Path(output_dir), image_format, quality) for job in batch]


def _render_one(job: RenderJob, output_dir: Path, image_format: str, quality: int) -> RenderOutcome:
    original = Path(job.original)
    try:
        data = original.read_bytes()
    except FileNotFoundError:
        return RenderOutcome(job.key, error=f"original photo not found: {original}")
    except OSError as exc:
        return RenderOutcome(job.key, error=f"original photo cannot be read: {original}: {exc.strerror}")
    try:
        picture, full_size = _prepared(data, [(t.width, t.height) for t in job.targets])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return RenderOutcome(job.key, error=f"original photo is not a readable image: {original}")

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
    return RenderOutcome(job.key, checksum_mismatch=mismatch)


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
