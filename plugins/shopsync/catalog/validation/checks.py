"""The columns Great Expectations checks besides what the feed says: per offer, the expected good's free
stock, an offer id that is not an expected good, a categoryId the feed does not define, a fractional stock
and picture files that are not published. Computed column-wise (pyarrow, numpy) once per chunk of offers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from shopsync.catalog.validation.read_back import FeedData

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

@dataclass(frozen=True)
class CheckInputs:
    """What the check columns of every chunk of one feed are computed against (prepared once per feed, as
    Arrow and numpy arrays: a million expected goods are not a million Python strings)."""
    expected_ids: pa.Array              # the goods that should be in the feed, as offer ids (strings)
    free_stock: Any                     # numpy float64 array, aligned with expected_ids
    expected_count: int                 # distinct expected goods
    photos: PublishedPhotos | None

    @classmethod
    def of(cls, expected: pd.DataFrame, published_photo_dir: Path | None) -> CheckInputs:
        import pyarrow as pa
        import pyarrow.compute as pc

        good_ids = pa.array(expected["good_id"].astype("int64").to_numpy())
        return cls(expected_ids=good_ids.cast(pa.string()),
                   free_stock=expected["free_stock"].astype("float64").to_numpy(),
                   expected_count=pc.count_distinct(good_ids).as_py(),
                   photos=None if published_photo_dir is None else published_photos(published_photo_dir))

    def missing_goods(self, offer_ids: pd.Series) -> list[str]:
        """The expected goods (offer ids, in good id order) that are not among these offer ids."""
        import pyarrow.compute as pc

        present = arrow_strings(offer_ids)
        missing = pc.unique(self.expected_ids.filter(pc.invert(pc.is_in(self.expected_ids, value_set=present))))
        return [str(good) for good in sorted(int(value) for value in missing.to_pylist())]


def add_check_columns(data: FeedData, checks: CheckInputs) -> None:
    """Columns the suite checks besides what the feed says.

    Most hold the offending value and are expected to be null, so a failure shows the value: an offer id
    that is not an expected good, a categoryId not defined in the feed, a fractional stock, missing
    picture files. (Large value sets passed to GX itself are slow: GX copies its expectation configuration,
    value set included, hundreds of times per run.) They are always added, null when the feed lacks their
    input, so that a missing feed column is reported once, by the table-columns check.
    """
    import numpy as np

    frame = data.frame
    for name in ("free_stock", "fractional_stock"):
        frame[name] = math.nan
    for name in ("unexpected_offer_id", "undefined_category_id", "missing_pictures"):
        frame[name] = None
    if "offer_id" in frame:
        offer_ids = frame["offer_id"]
        position = _positions_in(offer_ids, checks.expected_ids)     # first occurrence of each expected id
        frame["unexpected_offer_id"] = offer_ids.where(offer_ids.notna() & (position < 0))
        frame["free_stock"] = np.where(position >= 0, checks.free_stock[np.maximum(position, 0)], np.nan)
    if "stock" in frame:
        stock = frame["stock"]
        frame["fractional_stock"] = stock.where(stock.notna() & (stock % 1 != 0))
    if data.category_ids is not None and "category_id" in frame:
        categories = frame["category_id"]
        defined = _positions_in(categories, sorted(data.category_ids)) >= 0
        frame["undefined_category_id"] = categories.where(categories.notna() & ~defined)
    if checks.photos is not None and "pictures" in frame:
        frame["missing_pictures"] = missing_pictures(frame["pictures"], checks.photos)


def missing_pictures(pictures: pd.Series, published: PublishedPhotos) -> list[str | None]:
    """Per offer, its pictures ('a|b') not found among the published files, '|'-joined; None when all are.

    Each distinct picture is looked up once (goods share photos: a catalog has far fewer distinct pictures
    than picture cells), and the cells are split and joined column-wise.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = arrow_strings(pictures)
    cells = pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells)
    lists = pc.split_pattern(cells, "|")
    flat = pc.list_flatten(lists)
    absent = pa.array([name for name in pc.unique(flat).to_pylist() if not published.has(name)], pa.string())
    if len(absent) == 0:
        return [None] * len(pictures)
    is_absent = pc.is_in(flat, absent)
    owners = pc.list_parent_indices(lists).filter(is_absent).to_numpy()
    counts = np.bincount(owners, minlength=len(cells))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, flat.filter(is_absent)), "|")
    return pc.if_else(pa.array(counts > 0), joined, pa.scalar(None, pa.string())).to_pylist()


def arrow_strings(values: pd.Series) -> pa.Array:
    """A column of the offers frame as an Arrow string array (missing values null)."""
    import pyarrow as pa

    return pa.array(values.astype(object).where(values.notna(), None).tolist(), pa.string())


def _positions_in(values: pd.Series, candidates: list[str] | pa.Array) -> Any:
    """Per value, the index of its first occurrence among the candidates, -1 if absent (pyarrow, not
    pandas' isin: on Arrow-backed strings that runs a Python loop per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = arrow_strings(values)
    value_set = candidates if isinstance(candidates, pa.Array) else pa.array(candidates, pa.string())
    found = pc.index_in(texts, value_set=value_set)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class PublishedPhotos:
    paths: set[str]           # relative paths: 'detail/12_0.jpg'
    names: set[str]           # bare file names: '12_0.jpg'

    def has(self, picture: str) -> bool:
        """A bare file name (GoodPhotoList) counts when a file of that name is anywhere under the directory;
        a URL or path when one of its trailing parts ('12_0.jpg', 'detail/12_0.jpg', ...) is a file there."""
        path = picture.replace("\\", "/")
        if "://" in path:
            path = path.split("://", 1)[1].partition("/")[2].split("?", 1)[0].split("#", 1)[0]
        if "%" in path:
            path = unquote(path)
        path = path.strip("/")
        if "/" not in path:
            return path in self.names
        end = len(path)
        while end > 0:                      # 'a/detail/12_0.jpg' -> '12_0.jpg', 'detail/12_0.jpg', ...
            end = path.rfind("/", 0, end)
            if path[end + 1:] in self.paths:
                return True
        return False


def published_photos(directory: Path) -> PublishedPhotos:
    """Every file under the published photo directory (one walk, however many pictures are checked)."""
    paths: set[str] = set()
    pending = [(directory, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
            else:
                paths.add(prefix + entry.name)
    return PublishedPhotos(paths, {path.rsplit("/", 1)[-1] for path in paths})

