"""Photo publishing: sizes, orientation, formats, determinism and only-changed processing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from shopsync.catalog.photos import PhotoRef, content_name, fitted_size, process_photos
from shopsync.core.config import PhotoSettings
from shopsync.core.tuning import DEFAULT_TUNING

EXIF_ORIENTATION = 0x0112


def write_original(root: Path, relative: str, size: tuple[int, int] = (1600, 800), orientation: int | None = None,
                   color: tuple[int, int, int] = (200, 40, 40), image_format: str = "JPEG") -> PhotoRef:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.new("RGB", size, color)
    ImageDraw.Draw(picture).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(0, 0, 255))
    extra = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        extra["exif"] = exif.tobytes()
    picture.save(path, image_format, **extra)
    return PhotoRef(good_id=0, position=0, original_path=relative, checksum=sha256(path))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ref_for(root: Path, good_id: int, position: int, relative: str, **kwargs) -> PhotoRef:
    made = write_original(root, relative, **kwargs)
    return PhotoRef(good_id, position, made.original_path, made.checksum)


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    return {"originals": tmp_path / "originals", "out": tmp_path / "out", "state": tmp_path / "state" / "demo.json"}


def run(refs: list[PhotoRef], dirs: dict[str, Path], settings: PhotoSettings | None = None, **kwargs):
    return process_photos(refs, dirs["originals"], dirs["out"], settings or PhotoSettings(), dirs["state"], **kwargs)


def test_fitted_size_keeps_aspect_and_never_upscales() -> None:
    assert fitted_size(1600, 800, 300, 300) == (300, 150)
    assert fitted_size(800, 1600, 1200, 1200) == (600, 1200)
    assert fitted_size(200, 100, 300, 300) == (200, 100)


def test_sizes_keep_aspect_ratio(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 7, 0, "a/wide.jpg", size=(1600, 800))]

    report = run(refs, dirs)

    assert report.processed == 1 and not report.failed
    assert Image.open(dirs["out"] / "catalog/7_0.jpg").size == (300, 150)
    assert Image.open(dirs["out"] / "detail/7_0.jpg").size == (1200, 600)
    assert report.available == {7: ["detail/7_0.jpg"]}
    assert report.changed_files == ["catalog/7_0.jpg", "detail/7_0.jpg"]


def test_small_original_is_not_upscaled(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 7, 0, "small.png", size=(200, 100), image_format="PNG")]

    run(refs, dirs)

    assert Image.open(dirs["out"] / "detail/7_0.jpg").size == (200, 100)
    assert Image.open(dirs["out"] / "catalog/7_0.jpg").size == (200, 100)


def test_large_jpeg_decoded_at_reduced_scale_still_gets_exact_sizes(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 7, 0, "big.jpg", size=(4000, 3000))]

    run(refs, dirs)

    assert Image.open(dirs["out"] / "detail/7_0.jpg").size == (1200, 900)
    assert Image.open(dirs["out"] / "catalog/7_0.jpg").size == (300, 225)


def test_exif_orientation_is_applied(dirs: dict[str, Path]) -> None:
    # Stored landscape, orientation 6 ("rotate 90 CW to display"): published portrait, without EXIF.
    refs = [ref_for(dirs["originals"], 7, 0, "turned.jpg", size=(1600, 800), orientation=6)]

    run(refs, dirs)

    detail = Image.open(dirs["out"] / "detail/7_0.jpg")
    assert detail.size == (600, 1200)
    assert EXIF_ORIENTATION not in detail.getexif()
    assert Image.open(dirs["out"] / "catalog/7_0.jpg").size == (150, 300)


def test_transparent_png_becomes_rgb_jpeg_on_white(dirs: dict[str, Path]) -> None:
    path = dirs["originals"] / "clear.png"
    path.parent.mkdir(parents=True)
    Image.new("RGBA", (400, 400), (0, 0, 0, 0)).save(path)
    refs = [PhotoRef(7, 0, "clear.png", sha256(path))]

    run(refs, dirs)

    detail = Image.open(dirs["out"] / "detail/7_0.jpg")
    assert detail.mode == "RGB"
    assert all(channel > 245 for channel in detail.getpixel((200, 200)))


def test_second_run_processes_nothing_and_a_changed_checksum_redoes_one(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], good, 0, f"{good}.jpg") for good in (1, 2, 3)]
    first = run(refs, dirs)
    assert (first.processed, first.unchanged) == (3, 0)

    second = run(refs, dirs)
    assert (second.processed, second.unchanged, second.changed_files) == (0, 3, [])
    assert second.available == {1: ["detail/1_0.jpg"], 2: ["detail/2_0.jpg"], 3: ["detail/3_0.jpg"]}

    changed = ref_for(dirs["originals"], 2, 0, "2.jpg", color=(10, 200, 10))
    third = run([refs[0], changed, refs[2]], dirs)
    assert (third.processed, third.unchanged) == (1, 2)
    assert third.changed_files == ["catalog/2_0.jpg", "detail/2_0.jpg"]


def test_deleted_output_is_rendered_again(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 1, 0, "1.jpg")]
    run(refs, dirs)
    (dirs["out"] / "catalog/1_0.jpg").unlink()

    report = run(refs, dirs)

    assert report.processed == 1
    assert (dirs["out"] / "catalog/1_0.jpg").is_file()


def test_changed_settings_redo_everything_and_drop_old_format(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 1, 0, "1.jpg")]
    run(refs, dirs)

    report = run(refs, dirs, PhotoSettings(format="webp"))

    assert report.processed == 1
    assert report.removed == ["catalog/1_0.jpg", "detail/1_0.jpg"]
    assert not (dirs["out"] / "detail/1_0.jpg").exists()
    assert report.available == {1: ["detail/1_0.webp"]}


def test_missing_and_broken_originals_are_reported_and_not_available(dirs: dict[str, Path]) -> None:
    good = ref_for(dirs["originals"], 1, 0, "ok.jpg")
    missing = PhotoRef(2, 0, "nowhere/missing.jpg", "0" * 64)
    not_an_image = dirs["originals"] / "text.jpg"
    not_an_image.write_text("this is not a picture")
    truncated_path = dirs["originals"] / "cut.jpg"
    whole = (dirs["originals"] / "ok.jpg").read_bytes()
    truncated_path.write_bytes(whole[: len(whole) // 2])
    broken = PhotoRef(3, 0, "text.jpg", sha256(not_an_image))
    truncated = PhotoRef(3, 1, "cut.jpg", sha256(truncated_path))

    report = run([good, missing, broken, truncated], dirs)

    reasons = {(p.good_id, p.position): p.reason for p in report.failed}
    assert reasons[(2, 0)] == f"original photo not found: {dirs['originals'].resolve() / 'nowhere/missing.jpg'}"
    assert reasons[(3, 0)].startswith("original photo is not a readable image: ")
    assert reasons[(3, 1)].startswith("original photo is not a readable image: ")
    assert report.available == {1: ["detail/1_0.jpg"]}
    assert not (dirs["out"] / "detail/2_0.jpg").exists()


def test_path_outside_the_photo_root_is_refused(dirs: dict[str, Path]) -> None:
    report = run([PhotoRef(1, 0, "../../etc/passwd", "0" * 64)], dirs)

    assert report.failed[0].reason.startswith("original photo path leaves the photo root")


def test_checksum_mismatch_is_published_with_a_warning(dirs: dict[str, Path]) -> None:
    made = ref_for(dirs["originals"], 1, 0, "1.jpg")
    stale = PhotoRef(1, 0, made.original_path, "f" * 64)

    report = run([stale], dirs)

    assert report.processed == 1 and not report.failed
    assert "changed after the database recorded it" in report.warnings[0].reason


def test_webp_output(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 5, 2, "5.jpg")]

    report = run(refs, dirs, PhotoSettings(format="webp", quality=80))

    detail = Image.open(dirs["out"] / "detail/5_2.webp")
    assert detail.format == "WEBP" and detail.size == (1200, 600)
    assert report.available == {5: ["detail/5_2.webp"]}


@pytest.mark.parametrize("image_format", ["jpeg", "webp"])
def test_output_is_deterministic(tmp_path: Path, image_format: str) -> None:
    originals = tmp_path / "originals"
    refs = [ref_for(originals, good, 0, f"{good}.jpg", orientation=3) for good in range(1, 5)]
    settings = PhotoSettings(format=image_format)
    outputs = []
    for run_name, workers in (("a", 1), ("b", 2)):
        out = tmp_path / run_name
        process_photos(refs, originals, out, settings, tmp_path / f"{run_name}.json", workers=workers)
        outputs.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})

    assert len(outputs[0]) == 8
    assert outputs[0] == outputs[1]


def test_photos_go_to_the_workers_in_batches_of_the_tuning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shopsync.catalog.photos import process

    originals = tmp_path / "originals"
    refs = [ref_for(originals, good, 0, f"{good}.jpg", size=(64, 48)) for good in range(1, 6)]
    batch_sizes: list[int] = []
    render_batch = process.render_batch

    def counted(batch, **kwargs):
        batch_sizes.append(len(batch))
        return render_batch(batch, **kwargs)

    monkeypatch.setattr(process, "render_batch", counted)
    report = process_photos(refs, originals, tmp_path / "out", PhotoSettings(), tmp_path / "state.json",
                            tuning=DEFAULT_TUNING.but(photo_batch=2))

    assert sorted(batch_sizes) == [1, 2, 2]
    assert report.processed == 5


def test_process_pool_gives_the_same_result(tmp_path: Path) -> None:
    originals = tmp_path / "originals"
    refs = [ref_for(originals, good, 0, f"{good}.jpg") for good in range(1, 40)]
    thread_report = process_photos(refs, originals, tmp_path / "t", PhotoSettings(), tmp_path / "t.json")
    process_report = process_photos(refs, originals, tmp_path / "p", PhotoSettings(), tmp_path / "p.json",
                                    workers=2, executor="process")

    assert process_report.available == thread_report.available
    assert (tmp_path / "t/detail/7_0.jpg").read_bytes() == (tmp_path / "p/detail/7_0.jpg").read_bytes()


def test_photos_no_longer_referenced_are_deleted(dirs: dict[str, Path]) -> None:
    keep = ref_for(dirs["originals"], 1, 0, "1.jpg")
    drop = ref_for(dirs["originals"], 2, 0, "2.jpg")
    run([keep, drop], dirs)

    report = run([keep], dirs)

    assert report.removed == ["catalog/2_0.jpg", "detail/2_0.jpg"]
    assert not (dirs["out"] / "catalog/2_0.jpg").exists()
    assert (dirs["out"] / "catalog/1_0.jpg").exists()
    state = json.loads(dirs["state"].read_text())
    assert sorted(state["photos"]) == ["1:0"]


def test_available_lists_detail_names_in_position_order(dirs: dict[str, Path]) -> None:
    refs = [ref_for(dirs["originals"], 9, position, f"9_{position}.jpg") for position in (2, 0, 1)]
    refs.append(PhotoRef(9, 3, "gone.jpg", "0" * 64))

    report = run(refs, dirs)

    assert report.available == {9: ["detail/9_0.jpg", "detail/9_1.jpg", "detail/9_2.jpg"]}


def test_a_photo_that_breaks_loses_its_old_outputs(dirs: dict[str, Path]) -> None:
    ref = ref_for(dirs["originals"], 1, 0, "1.jpg")
    run([ref], dirs)
    (dirs["originals"] / "1.jpg").unlink()

    report = run([PhotoRef(1, 0, "1.jpg", "a" * 64)], dirs)

    assert report.failed and report.available == {}
    assert report.removed == ["catalog/1_0.jpg", "detail/1_0.jpg"]


def test_without_a_detail_size_the_largest_size_is_linked(dirs: dict[str, Path]) -> None:
    from shopsync.core.config import PhotoSize

    settings = PhotoSettings(sizes=[PhotoSize(name="small", width=100, height=100),
                                    PhotoSize(name="big", width=800, height=800)])
    report = run([ref_for(dirs["originals"], 1, 0, "1.jpg")], dirs, settings)

    assert report.available == {1: ["big/1_0.jpg"]}
    assert Image.open(dirs["out"] / "small/1_0.jpg").size == (100, 50)


def test_interrupted_run_deletes_nothing_and_retries_next_time(dirs: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from shopsync.catalog.photos import process

    refs = [ref_for(dirs["originals"], good, 0, f"{good}.jpg") for good in (1, 2)]
    run(refs, dirs)
    changed = [ref_for(dirs["originals"], good, 0, f"{good}.jpg", color=(1, 2, 3)) for good in (1, 2)]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(process, "render_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(changed, dirs)
    assert (dirs["out"] / "detail/1_0.jpg").exists() and (dirs["out"] / "detail/2_0.jpg").exists()

    monkeypatch.undo()
    assert run(changed, dirs).processed == 2


def test_content_addressed_photo_shared_by_goods_is_resized_once(dirs: dict[str, Path]) -> None:
    shared = write_original(dirs["originals"], "model/shared.jpg")
    refs = [PhotoRef(good_id, 0, shared.original_path, shared.checksum) for good_id in (1, 2, 3)]

    report = run(refs, dirs, content_addressed=True)

    name = content_name(shared.checksum, "jpeg")
    assert report.processed == 1
    assert sorted(report.changed_files) == [f"catalog/{name}", f"detail/{name}"]
    assert (dirs["out"] / "detail" / name).is_file()
    assert run(refs, dirs, content_addressed=True).processed == 0


def test_content_addressed_outputs_no_longer_referenced_are_removed(dirs: dict[str, Path]) -> None:
    first = write_original(dirs["originals"], "a.jpg", color=(10, 10, 10))
    second = write_original(dirs["originals"], "b.jpg", color=(20, 20, 20))
    run([PhotoRef(1, 0, first.original_path, first.checksum), PhotoRef(2, 0, second.original_path,
                                                                        second.checksum)], dirs, content_addressed=True)

    report = run([PhotoRef(2, 0, second.original_path, second.checksum)], dirs, content_addressed=True)

    assert report.removed == sorted(f"{size}/{content_name(first.checksum, 'jpeg')}" for size in ("catalog", "detail"))
    assert not (dirs["out"] / "detail" / content_name(first.checksum, "jpeg")).exists()
