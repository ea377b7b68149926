"""Time process_photos: a cold run over N fresh originals, then a warm run where nothing changed.

    .venv/bin/python bench/photos.py [--count 500] [--workers 2] [--executor thread|process|both]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from shopsync.catalog.photos import PhotoRef, process_photos
from shopsync.core.config import PhotoSettings


def make_original(path: Path, seed: int, size: tuple[int, int] = (1600, 1200)) -> None:
    """A photo-like JPEG: gradients, shapes and sensor noise (flat colours would encode unrealistically fast)."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    noise = Image.frombytes("L", size, random.Random(seed).randbytes(width * height))
    blue = Image.blend(red, noise, 0.3)
    picture = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(picture)
    for index in range(12):
        x = (seed * 97 + index * 131) % width
        y = (seed * 53 + index * 71) % height
        draw.ellipse((x, y, x + 200, y + 150), fill=((seed * 7) % 256, (index * 20) % 256, 120))
    picture.save(path, "JPEG", quality=90)


def make_originals(root: Path, count: int) -> list[PhotoRef]:
    refs = []
    for index in range(count):
        relative = f"goods/{index // 100}/{index}.jpg"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        make_original(path, index)
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        refs.append(PhotoRef(good_id=1000 + index // 2, position=index % 2, original_path=relative, checksum=checksum))
    return refs


def timed_run(refs: list[PhotoRef], originals: Path, output: Path, state: Path, workers: int, executor: str) -> float:
    started = time.perf_counter()
    report = process_photos(refs, originals, output, PhotoSettings(), state, workers=workers, executor=executor)
    elapsed = time.perf_counter() - started
    print(f"  {report.summary()} in {elapsed:.2f} s")
    return elapsed


def main() -> None:
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()    # Arrow's allocator, as every entry point sets it
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", choices=["thread", "process", "both"], default="both")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-photos-") as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        refs = make_originals(root / "originals", args.count)
        print(f"made {args.count} originals (1600x1200 JPEG) in {time.perf_counter() - started:.1f} s")
        executors = ["thread", "process"] if args.executor == "both" else [args.executor]
        setups = [("thread", 1)] + [(executor, args.workers) for executor in executors]   # 1 worker: inline
        for executor, workers in setups:
            output, state = root / "out", root / "state.json"
            shutil.rmtree(output, ignore_errors=True)
            state.unlink(missing_ok=True)
            print("1 worker (inline):" if workers == 1 else f"{executor}s, {workers} workers:")
            cold = timed_run(refs, root / "originals", output, state, workers, executor)
            warm = timed_run(refs, root / "originals", output, state, workers, executor)
            print(f"  cold {cold:.2f} s ({args.count / cold:.0f} photos/s), warm {warm:.3f} s")


if __name__ == "__main__":
    main()
