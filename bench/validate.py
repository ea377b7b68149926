"""Time validate_feed on a synthetic YML of N offers (20 params and 3 pictures each, ~180 MB at 100k).

    .venv/bin/python bench/validate.py [--offers 100000] [--profile rozetka_yml] [--no-photos]

Prints generation time, the GX import / first-suite cost, read-back and suite times, and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
from lxml import etree

OLD_PRICE = {"yml": "oldprice", "prom_yml": "oldprice", "rozetka_yml": "price_old"}
STOCK = {"yml": "stock_quantity", "prom_yml": "quantity_in_stock", "rozetka_yml": "stock_quantity"}
CATEGORIES = 200
PICTURES = 3
PARAMS = 20


def write_feed(path: Path, profile: str, offers: int) -> None:
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("yml_catalog", date="2024-05-01 12:00"), xf.element("shop"):
            with xf.element("categories"):
                for category in range(1, CATEGORIES + 1):
                    element = etree.Element("category", id=str(category))
                    element.text = f"Категорія {category}"
                    xf.write(element)
            with xf.element("offers"):
                for good_id in range(1, offers + 1):
                    xf.write(offer(profile, good_id))


def offer(profile: str, good_id: int) -> etree._Element:
    element = etree.Element("offer", id=str(good_id), available="true")
    etree.SubElement(element, "url").text = f"https://demo.example/p/{good_id}"
    etree.SubElement(element, "price").text = f"{100 + good_id % 5000}.50"
    if good_id % 3 == 0:
        etree.SubElement(element, OLD_PRICE[profile]).text = f"{200 + good_id % 5000}"
    etree.SubElement(element, "currencyId").text = "UAH"
    etree.SubElement(element, "categoryId").text = str(1 + good_id % CATEGORIES)
    for position in range(PICTURES):
        etree.SubElement(element, "picture").text = f"https://demo.example/photos/detail/{good_id}_{position}.jpg"
    etree.SubElement(element, "name").text = f"Чоботи жіночі шкіряні зимові, модель {good_id}"
    etree.SubElement(element, "vendor").text = "Демо"
    etree.SubElement(element, "description").text = "Опис товару. " * 8
    etree.SubElement(element, STOCK[profile]).text = str(good_id % 17)
    for index in range(PARAMS):
        etree.SubElement(element, "param", name=f"Характеристика {index}").text = f"значення {good_id % 7}"
    return element


def make_photos(directory: Path, offers: int) -> None:
    detail = directory / "detail"
    detail.mkdir(parents=True)
    for good_id in range(1, offers + 1):
        for position in range(PICTURES):
            (detail / f"{good_id}_{position}.jpg").touch()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from shopsync.runtime.memory import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()    # Arrow's allocator, as every entry point sets it
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--profile", default="rozetka_yml", choices=sorted(OLD_PRICE))
    parser.add_argument("--no-photos", action="store_true", help="skip the picture-file check")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validate-") as temporary:
        root = Path(temporary)
        feed = root / "feed.xml"
        started = time.perf_counter()
        write_feed(feed, args.profile, args.offers)
        print(f"wrote {args.offers} offers, {feed.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s"
              f" (peak {peak_mb():.0f} MB)")
        photos = None
        if not args.no_photos:
            started = time.perf_counter()
            photos = root / "photos"
            make_photos(photos, args.offers)
            print(f"made {args.offers * PICTURES} photo files in {time.perf_counter() - started:.1f} s")

        expected = pd.DataFrame({"good_id": range(1, args.offers + 1),
                                 "free_stock": [good_id % 17 for good_id in range(1, args.offers + 1)]})

        started = time.perf_counter()
        from shopsync.catalog.validation.read_back import read_feed
        from shopsync.catalog.validation.results import validate_feed
        from shopsync.catalog.validation.suite import suite_definition
        suite_definition(args.profile)
        print(f"GX import + context + suite: {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        data = read_feed(feed, args.profile)
        read_seconds = time.perf_counter() - started
        print(f"read back: {len(data.frame)} rows in {read_seconds:.2f} s (peak {peak_mb():.0f} MB)")

        for run in ("first", "second"):
            result = validate_feed(feed, args.profile, expected, published_photo_dir=photos)
            print(f"validate_feed ({run} run): {result.summary()} -> {result.seconds:.2f} s total "
                  f"(read ~{read_seconds:.1f} s), peak {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
