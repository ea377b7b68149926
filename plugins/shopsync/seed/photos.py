"""Original photo files of goods: real JPEGs drawn with Pillow under `photos_dir()/seed/`.

Each good has 1-3 photos. Drawing 100k+ JPEGs would dominate seeding, so the files form a bounded
pool (at most MAX_POOL_FILES): while the photo rows fit, every row gets a file of its own with the
good id drawn on it; beyond that the goods of one model share files (drawn with the model code).
About 20% are portrait, some square, and every 40th file stores its pixels turned a quarter and
carries EXIF orientation 6, so a consumer that ignores EXIF shows it sideways.

Deliberately broken rows, so the export's photo step has something to report: ~0.5% of rows (at least
one) name a file that does not exist (checksum: sha256 of the path) and two name corrupt files (plain
text, and a JPEG cut short). Zero-price goods keep intact photos so they have a single defect.
Pillow's JPEG encoder with a fixed quality is deterministic, so the same seed writes the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from shopsync.seed.goods import Model, last_good_id, zero_price_good_ids

MAX_POOL_FILES = 2000
SEED_SUBDIR = "seed"
JPEG_QUALITY = 85
EXIF_ORIENTATION_TAG = 0x0112
ROTATED_EVERY = 40
MISSING_SHARE = 0.005
CORRUPT_FILES = {
    f"{SEED_SUBDIR}/broken/not-an-image.jpg": b"This file is not an image, whatever its name says.\n",
}
TRUNCATED_PATH = f"{SEED_SUBDIR}/broken/truncated.jpg"
PHOTO_COLUMNS = ["good_id", "position", "original_path", "checksum"]


@dataclass
class PhotoSet:
    rows: list[tuple]            # photos rows: (good_id, position, original_path, checksum)
    directory: Path
    files_written: int
    missing_rows: int
    corrupt_rows: int


@dataclass(slots=True)
class PhotoEntry:
    good_id: int
    position: int
    file_index: int
    label: str


def build_photos(models: list[Model], seed: int, root: Path) -> PhotoSet:
    """Write the pool under root/seed/ (replacing an earlier seed's files) and return the photos rows."""
    rng = random.Random(f"{seed}:photos")
    entries = plan_entries(models, rng)
    broken = choose_broken(entries, set(zero_price_good_ids(last_good_id(models))), rng)
    target = root / SEED_SUBDIR
    if target.exists():
        shutil.rmtree(target)
    labels = {entry.file_index: entry.label for i, entry in enumerate(entries) if i not in broken}
    checksums = write_pool(labels, seed, root)
    corrupt_checksums = write_corrupt_files(root, checksums)
    rows = []
    missing = corrupt = 0
    for i, entry in enumerate(entries):
        kind = broken.get(i)
        if kind is None:
            path = pool_path(entry.file_index)
            rows.append((entry.good_id, entry.position, path, checksums[entry.file_index]))
        elif kind == "missing":
            path = f"{SEED_SUBDIR}/missing/{entry.good_id}-{entry.position}.jpg"
            rows.append((entry.good_id, entry.position, path, hashlib.sha256(path.encode()).hexdigest()))
            missing += 1
        else:
            rows.append((entry.good_id, entry.position, kind, corrupt_checksums[kind]))
            corrupt += 1
    return PhotoSet(rows, root, len(checksums) + len(corrupt_checksums), missing, corrupt)


def plan_entries(models: list[Model], rng: random.Random) -> list[PhotoEntry]:
    counts = [
        (model, variant.good_id, rng.choices((1, 2, 3), (3, 4, 3))[0])
        for model in models
        for variant in model.variants
    ]
    shared = sum(count for _, _, count in counts) > MAX_POOL_FILES
    entries = []
    for model, good_id, count in counts:
        for position in range(count):
            if shared:
                file_index = (model.index * 3 + position) % MAX_POOL_FILES
                label = model.code
            else:
                file_index = len(entries)
                label = f"#{good_id}"
            entries.append(PhotoEntry(good_id, position, file_index, f"{label}  photo {position + 1}"))
    return entries


def choose_broken(entries: list[PhotoEntry], spared_goods: set[int], rng: random.Random) -> dict[int, str]:
    """Entry index -> 'missing' or the corrupt file's relative path."""
    candidates = [i for i, entry in enumerate(entries) if entry.good_id not in spared_goods]
    corrupt_paths = [*CORRUPT_FILES, TRUNCATED_PATH]
    missing = max(1, round(len(entries) * MISSING_SHARE))
    chosen = rng.sample(candidates, min(len(candidates), missing + len(corrupt_paths)))
    broken = {index: "missing" for index in chosen[:missing]}
    broken.update(zip(chosen[missing:], corrupt_paths, strict=False))
    return broken


def pool_path(file_index: int) -> str:
    return f"{SEED_SUBDIR}/pool/{file_index // 1000:02d}/{file_index:05d}.jpg"


def write_pool(labels: dict[int, str], seed: int, root: Path) -> dict[int, str]:
    """Draw and write each pool file once; returns file index -> sha256 of its bytes."""
    fonts = (ImageFont.load_default(size=64), ImageFont.load_default(size=26))
    checksums = {}
    for file_index in sorted(labels):
        data = draw_photo(file_index, labels[file_index], seed, fonts)
        path = root / pool_path(file_index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        checksums[file_index] = hashlib.sha256(data).hexdigest()
    return checksums


def photo_size(file_index: int) -> tuple[int, int]:
    if file_index % 10 in (2, 7):
        return 480, 640
    if file_index % 13 == 5:
        return 600, 600
    return 640, 480


def draw_photo(file_index: int, label: str, seed: int, fonts: tuple) -> bytes:
    """A JPEG with a coloured background, a product-ish shape, the label and an arrow marking the top."""
    big, small = fonts
    width, height = photo_size(file_index)
    tint = random.Random(f"{seed}:photo:{file_index}")
    background = tuple(tint.randrange(40, 216) for _ in range(3))
    accent = tuple(255 - channel for channel in background)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 21, height - 21), outline=(255, 255, 255), width=4)
    draw.ellipse((width // 4, height // 3, width * 3 // 4, height * 5 // 6), fill=accent)
    draw.polygon([(width // 2, 30), (width // 2 - 24, 70), (width // 2 + 24, 70)], fill=(255, 255, 255))
    draw.text((width // 2, 95), "TOP", font=small, fill=(255, 255, 255), anchor="mm")
    name, _, caption = label.partition("  ")
    draw.text((width // 2, height // 2), name, font=big, fill=(255, 255, 255), anchor="mm",
              stroke_width=2, stroke_fill=(0, 0, 0))
    draw.text((width // 2, height - 50), caption, font=small, fill=(255, 255, 255), anchor="mm")
    buffer = BytesIO()
    if file_index % ROTATED_EVERY == 11:
        # Stored turned a quarter counter-clockwise; orientation 6 tells viewers to turn it back.
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = 6
        image.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", quality=JPEG_QUALITY, exif=exif.tobytes())
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def write_corrupt_files(root: Path, checksums: dict[int, str]) -> dict[str, str]:
    """The two corrupt originals: text named .jpg, and the first 300 bytes of a real JPEG."""
    contents = dict(CORRUPT_FILES)
    first_pool_file = root / pool_path(min(checksums)) if checksums else None
    contents[TRUNCATED_PATH] = first_pool_file.read_bytes()[:300] if first_pool_file else b"\xff\xd8\xff\xe0"
    written = {}
    for relative, data in contents.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written[relative] = hashlib.sha256(data).hexdigest()
    return written
