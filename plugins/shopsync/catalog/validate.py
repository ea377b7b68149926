"""Validation before anything is published, in two layers.

1. Item checks (before the feeds are written): `item_problems` per good, `split_batch` per feed batch.
   Bad goods are left out of every feed and listed with their reasons; with on_bad_item="fail" they
   fail the export instead.
2. A Great Expectations suite run on each WRITTEN feed file read back (streaming), so what is checked
   is exactly what would be published: offer ids, prices, stock against the expected free stock,
   categories, names and picture files.

Importing this module is cheap: pandas, lxml and great_expectations are imported when first used.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import math
import numbers
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.core.errors import PermanentError
from shopsync.core.paths import include_dir

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")     # 0-31 except tab, LF, CR
CONTROL_CHARACTERS_REGEX = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"              # the same, for GX (re syntax)
EXAMPLES = 5                                                          # offending values shown per failure
# A CSV field is as long as the value in it (descriptions of 1 MB exist). The csv module refuses fields over
# its limit (128 KiB by default) with "field larger than field limit", which made such a feed unreadable and
# blocked it; every cp1251 feed is read back by csv.reader. The limit is per process: the largest it takes.
CSV_FIELD_LIMIT = 2**31 - 1
csv.field_size_limit(CSV_FIELD_LIMIT)
VALIDATE_CHUNK = 100_000     # offers per Great Expectations run of a read-back feed (memory: one chunk's frame)

OnBadItem = Literal["skip", "fail"]


class FeedValidationError(PermanentError):
    """Goods or a written feed broke the rules and the shop is set to fail rather than skip."""


# --- 1. item checks ------------------------------------------------------------------------------

def item_problems(item: CatalogItem, ctx: FeedContext) -> list[str]:
    """What makes this good unpublishable; empty when it is fine.

    An old price that is not above the price is not a problem: the writers simply omit it (a
    marketplace would reject the offer for it, the good itself is sellable).
    """
    return [
        *_price_problems(item.price),
        *_name_problems(item.name),
        *_category_problems(item.category_id, ctx),
        *_stock_problems(item.free_stock),
    ]


def _price_problems(price: Decimal | None) -> list[str]:
    if price is None:
        return ["price is missing"]
    if isinstance(price, Decimal) and not price.is_finite():
        return [f"price is not a number: {price}"]
    if price == 0:
        return ["price is 0"]
    if price < 0:
        return [f"price is negative: {price}"]
    return []


def _name_problems(name: str | None) -> list[str]:
    if name is None or not name.strip():
        return ["name is empty"]
    if match := CONTROL_CHARACTERS.search(name):
        return [f"name contains control character: {ord(match.group()):#04x}"]
    return []


def _category_problems(category_id: int | None, ctx: FeedContext) -> list[str]:
    if category_id is None:
        return ["category is missing"]
    if category_id not in ctx.categories:
        return [f"category is unknown: {category_id}"]
    return []


def _stock_problems(free_stock: object) -> list[str]:
    if isinstance(free_stock, bool) or not isinstance(free_stock, int):
        return [f"free stock is not a whole number: {free_stock!r}"]
    if free_stock < 0:
        return [f"free stock is negative: {free_stock}"]
    return []


@dataclass(frozen=True, slots=True)
class RejectedItem:
    good_id: int
    name: str
    reasons: tuple[str, ...]


@dataclass
class Rejections:
    """Goods left out of the feeds, with why."""
    items: list[RejectedItem] = field(default_factory=list)

    def add(self, item: CatalogItem, reasons: list[str]) -> None:
        self.items.append(RejectedItem(item.good_id, item.name or "", tuple(reasons)))

    def by_reason(self) -> dict[str, int]:
        """Goods per kind of reason ("category is unknown: 5" counts as "category is unknown")."""
        kinds = Counter(reason.split(":", 1)[0] for item in self.items for reason in item.reasons)
        return dict(kinds.most_common())

    def summary(self) -> str:
        if not self.items:
            return "no goods excluded"
        kinds = ", ".join(f"{reason} {count}" for reason, count in self.by_reason().items())
        return f"{len(self.items)} goods excluded ({kinds})"

    def __len__(self) -> int:
        return len(self.items)


def split_batch(batch: pa.RecordBatch, ctx: FeedContext, rejections: Rejections) -> pa.RecordBatch:
    """The batch without its bad goods (columns.FEED_SCHEMA); the bad ones are recorded in `rejections`.

    Candidates are found column-wise; `item_problems` then decides, and words the reasons, for each
    candidate alone, so the rules live in one place and a clean batch costs no Python per good.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    candidates = _problem_candidates(batch, ctx)
    if not pc.any(candidates).as_py():
        return batch
    from shopsync.catalog.columns import items_from_batch

    rows = pc.indices_nonzero(candidates)
    bad_ids = []
    for item in items_from_batch(batch.take(rows)):
        problems = item_problems(item, ctx)
        if problems:
            rejections.add(item, problems)
            bad_ids.append(item.good_id)
    if not bad_ids:
        return batch
    return batch.filter(pc.invert(pc.is_in(batch.column("good_id"), pa.array(bad_ids, pa.int64()))))


def _problem_candidates(batch: pa.RecordBatch, ctx: FeedContext) -> pa.Array:
    """Rows that may break a rule of item_problems (a superset: item_problems has the last word)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    price, name, category = batch.column("price"), batch.column("name"), batch.column("category_id")
    known = pa.array(sorted(ctx.categories), pa.int64())
    checks = [
        pc.is_null(price), pc.less_equal(price, pa.scalar(0, price.type)),
        pc.is_null(name), pc.equal(pc.utf8_trim_whitespace(name), ""), pc.invert(pc.utf8_is_printable(name)),
        pc.is_null(category), pc.invert(pc.is_in(category, known)),
        pc.less(batch.column("free_stock"), 0),
    ]
    candidates = checks[0]
    for check in checks[1:]:
        candidates = pc.or_kleene(candidates, check)
    return pc.fill_null(candidates, True)


def raise_on_rejections(rejections: Rejections, since: int, on_bad_item: OnBadItem) -> None:
    """With on_bad_item="fail", goods rejected since `since` fail the export (all of them listed once)."""
    new = rejections.items[since:]
    if on_bad_item == "fail" and new:
        raise FeedValidationError(_bad_items_message(new))


def _bad_items_message(bad: list[RejectedItem], shown: int = 5) -> str:
    listed = "; ".join(f"good {r.good_id} {r.name!r}: {', '.join(r.reasons)}" for r in bad[:shown])
    more = f" (and {len(bad) - shown} more)" if len(bad) > shown else ""
    return f"{len(bad)} goods failed the item checks and the shop is set to on_bad_item=fail: {listed}{more}"


# --- 2. reading written feeds back ---------------------------------------------------------------

OFFER_COLUMNS = ("offer_id", "name", "price", "old_price", "stock", "category_id", "picture_count", "pictures")
YML_PROFILES = ("yml", "prom_yml", "rozetka_yml")
CSV_PROFILES = ("torgsoft_csv", "woocommerce_csv")
PROFILES = YML_PROFILES + CSV_PROFILES

# Element names per YML profile: a contract with the feed writers.
YML_OLD_PRICE = {"yml": "oldprice", "prom_yml": "oldprice", "rozetka_yml": "price_old"}
YML_STOCK = {"yml": "stock_quantity", "prom_yml": "quantity_in_stock", "rozetka_yml": "stock_quantity"}


@dataclass(frozen=True)
class CsvLayout:
    delimiter: str
    columns: dict[str, str]                 # feed column -> offer column
    required: tuple[str, ...]               # feed columns without which the feed is unusable
    picture_separator: str = ","


CSV_LAYOUTS = {
    "torgsoft_csv": CsvLayout(
        delimiter=";",
        columns={"GoodID": "offer_id", "GoodName": "name", "RetailPrice": "price",
                 "WarehouseQuantity": "stock", "Category": "category_id", "GoodPhotoList": "pictures"},
        required=("GoodID", "GoodName", "RetailPrice", "WarehouseQuantity"),
    ),
    "woocommerce_csv": CsvLayout(
        delimiter=",",
        columns={"Meta: _shopsync_good_id": "offer_id", "Name": "name", "Regular price": "price",
                 "Sale price": "old_price", "Stock": "stock", "Categories": "category_id", "Images": "pictures"},
        required=("Type", "Meta: _shopsync_good_id", "Name", "Regular price", "Stock"),
    ),
}
WOO_PARENT_TYPE = "variable"    # a variable product's parent row: no price or stock of its own


class FeedUnreadable(Exception):
    """The written file cannot be read back (not well-formed, wrong encoding, missing)."""


@dataclass
class FeedData:
    frame: pd.DataFrame
    category_ids: set[str] | None = None             # ids defined in a YML's <categories>
    missing_columns: list[str] = field(default_factory=list)   # required feed columns absent from a CSV
    malformed_rows: list[int] = field(default_factory=list)    # CSV line numbers whose field count is wrong


def read_feed(path: Path | bytes, profile: str, encoding: str = "utf-8") -> FeedData:
    """The offers of a written feed (a file, or its bytes) as a DataFrame with OFFER_COLUMNS; raises FeedUnreadable."""
    if profile in YML_PROFILES:
        return read_yml(path, profile)
    if profile in CSV_LAYOUTS:
        return read_csv(path, profile, encoding)
    raise ValueError(f"no feed validation for profile {profile!r} (known: {', '.join(PROFILES)})")


def read_yml(path: Path | bytes, profile: str) -> FeedData:
    """<category> ids and <offer> columns. A file is streamed, freeing each element after use (memory stays
    flat); bytes (one slice of written offers) are parsed whole, which is faster."""
    if isinstance(path, bytes):
        return yml_offers_data(yml_offer_columns(path, profile))
    from lxml import etree

    columns: dict[str, list] = {name: [] for name in OFFER_COLUMNS}
    category_ids: set[str] = set()
    tags = (YML_OLD_PRICE[profile], YML_STOCK[profile])
    try:
        events = etree.iterparse(str(path), events=("end",), tag=("category", "offer"), resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=False)
        for _, element in events:
            if element.tag == "offer":
                _append_yml_offer(columns, element, *tags)
            elif (category_id := element.get("id")) is not None:
                category_ids.add(category_id)
            _free(element)
    except etree.XMLSyntaxError as exc:
        raise FeedUnreadable(f"not well-formed XML: {exc}") from None
    except OSError as exc:
        raise FeedUnreadable(f"cannot read the feed: {exc}") from None
    return yml_offers_data(columns, category_ids)


def yml_offer_columns(data: bytes, profile: str) -> dict[str, list]:
    """The <offer> columns of a YML document in memory, prices and stock still as text. Needs lxml only
    (feed_pass reads written offers back with it in worker processes that import nothing else)."""
    from lxml import etree

    columns: dict[str, list] = {name: [] for name in OFFER_COLUMNS}
    tags = (YML_OLD_PRICE[profile], YML_STOCK[profile])
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                                      huge_tree=True))
    except etree.XMLSyntaxError as exc:
        raise FeedUnreadable(f"not well-formed XML: {exc}") from None
    for offer in root.iter("offer"):
        _append_yml_offer(columns, offer, *tags)
    return columns


def yml_offers_data(columns: dict[str, list], category_ids: set[str] | None = None) -> FeedData:
    for name in ("price", "old_price", "stock"):
        columns[name] = parse_numbers(columns[name])
    return FeedData(_offers_frame(columns), category_ids=set() if category_ids is None else category_ids)


def _append_yml_offer(columns: dict[str, list], offer: Any, old_price_tag: str, stock_tag: str) -> None:
    # findtext: the first such child's text, "" for an empty element, None when there is none.
    pictures = [text.strip() for picture in offer.iterchildren("picture") if (text := picture.text) and text.strip()]
    category = offer.findtext("categoryId")
    columns["offer_id"].append(offer.get("id"))
    columns["name"].append(offer.findtext("name"))
    columns["price"].append(offer.findtext("price"))
    columns["old_price"].append(offer.findtext(old_price_tag))
    columns["stock"].append(offer.findtext(stock_tag))
    columns["category_id"].append(category.strip() if category is not None else None)
    columns["picture_count"].append(len(pictures))
    columns["pictures"].append("|".join(pictures))


def _free(element: Any) -> None:
    """Drop a processed element and the already-processed siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def read_csv(path: Path | bytes, profile: str, encoding: str = "utf-8") -> FeedData:
    layout = CSV_LAYOUTS[profile]
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"                # tolerate a BOM the writer or an editor added
    try:
        fast = _read_csv_columnar(path, profile, layout, encoding)
        if fast is not None:
            return fast
        with _text_stream(path, encoding) as stream:
            return _read_csv_rows(csv.reader(stream, delimiter=layout.delimiter), profile, layout)
    except UnicodeDecodeError as exc:
        raise FeedUnreadable(f"not valid {encoding}: byte {exc.object[exc.start:exc.end]!r} "
                             f"at offset {exc.start}") from None
    except csv.Error as exc:
        raise FeedUnreadable(f"not valid CSV: {exc}") from None
    except OSError as exc:
        raise FeedUnreadable(f"cannot read the feed: {exc}") from None


def _text_stream(source: Path | bytes, encoding: str) -> Any:
    if isinstance(source, bytes):
        return io.TextIOWrapper(io.BytesIO(source), encoding=encoding, newline="")
    return open(source, encoding=encoding, newline="")   # noqa: SIM115 - the caller closes it


def _read_csv_columnar(path: Path | bytes, profile: str, layout: CsvLayout, encoding: str) -> FeedData | None:
    """The common case, read by pyarrow's CSV parser (C++, both cores): a UTF-8 file whose rows all match its
    header of distinct names. None sends the file to the line-by-line reader, which also explains problems."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if encoding != "utf-8-sig":
        return None
    with _text_stream(path, encoding) as stream:
        header = next(csv.reader(stream, delimiter=layout.delimiter), [])
    names = [name.strip() for name in header]
    if not names or len(set(names)) != len(names) or names != header:
        return None
    wanted = [name for name in (*layout.columns, "Type") if name in names]
    irregular: list[int] = []

    def note_irregular(row: Any) -> str:
        irregular.append(row.number)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(path) if isinstance(path, bytes) else path,
            read_options=pacsv.ReadOptions(encoding="utf-8", block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True,
                                             invalid_row_handler=note_irregular),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types={name: pa.string() for name in wanted},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    if irregular:
        return None
    if "Type" in wanted and profile == "woocommerce_csv":
        import pyarrow.compute as pc

        table = table.filter(pc.not_equal(table.column("Type"), WOO_PARENT_TYPE))
    raw = {target: table.column(source).to_pylist() for source, target in layout.columns.items() if source in names}
    missing = [name for name in layout.required if name not in names]
    return FeedData(_offers_frame(_csv_offer_columns(raw, profile, layout)), missing_columns=missing)


def _read_csv_rows(reader: Any, profile: str, layout: CsvLayout) -> FeedData:
    header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
    position = {name: index for index, name in reversed(list(enumerate(header)))}   # first occurrence wins
    missing = [name for name in layout.required if name not in position]
    present = {source: target for source, target in layout.columns.items() if source in position}
    type_index = position.get("Type")

    raw: dict[str, list] = {target: [] for target in present.values()}
    malformed: list[int] = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue                                       # blank line
        if len(row) != len(header):
            malformed.append(reader.line_num)
        if type_index is not None and profile == "woocommerce_csv" and _cell(row, type_index) == WOO_PARENT_TYPE:
            continue
        for source, target in present.items():
            raw[target].append(_cell(row, position[source]))

    columns = _csv_offer_columns(raw, profile, layout)
    return FeedData(_offers_frame(columns), missing_columns=missing, malformed_rows=malformed)


def _cell(row: list[str], index: int) -> str | None:
    return row[index] if index < len(row) else None


def _csv_offer_columns(raw: dict[str, list], profile: str, layout: CsvLayout) -> dict[str, list]:
    """Typed offer columns; an offer column whose feed column is missing is left out (GX reports it)."""
    rows = len(next(iter(raw.values()), []))
    columns: dict[str, list] = {}
    if "offer_id" in raw:
        columns["offer_id"] = [value.strip() if value is not None else None for value in raw["offer_id"]]
    if "name" in raw:
        columns["name"] = raw["name"]
    if "price" in raw:
        columns["price"] = parse_numbers(raw["price"])
        columns["old_price"] = [math.nan] * rows
        if profile == "woocommerce_csv" and "old_price" in raw:
            columns["price"], columns["old_price"] = _woo_prices(columns["price"], raw["old_price"])
    if "stock" in raw:
        columns["stock"] = parse_numbers(raw["stock"])
    columns["category_id"] = raw.get("category_id", [None] * rows)
    pictures = [_split_pictures(value, layout.picture_separator) for value in raw.get("pictures", [None] * rows)]
    columns["picture_count"] = [len(names) for names in pictures]
    columns["pictures"] = ["|".join(names) for names in pictures]
    return columns


def _woo_prices(regular: list[float], sale_texts: list[str | None]) -> tuple[list[float], list[float]]:
    """WooCommerce: with a sale price, the sale price is what is charged and the regular price is the old one."""
    prices, old_prices = [], []
    for regular_price, sale_text in zip(regular, sale_texts, strict=True):
        sale = parse_number(sale_text)
        if math.isnan(sale):
            prices.append(regular_price)
            old_prices.append(math.nan)
        else:
            prices.append(sale)
            old_prices.append(regular_price)
    return prices, old_prices


def _split_pictures(value: str | None, separator: str) -> list[str]:
    """List cells; a separator inside a value is escaped with a backslash (WooCommerce importer rule)."""
    if not value:
        return []
    if "\\" not in value:
        return [name.strip() for name in value.split(separator) if name.strip()]
    parts = re.split(rf"(?<!\\){re.escape(separator)}", value)
    return [name.strip().replace(f"\\{separator}", separator) for name in parts if name.strip()]


def parse_numbers(texts: list[str | None]) -> list[float]:
    """parse_number of every text; the plain ones ('12.50', '7') in one pandas pass, the rest one by one."""
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(texts, dtype="object"), errors="coerce").astype("float64").tolist()
    return [number if math.isfinite(number) else parse_number(text) for number, text in zip(numbers, texts,
                                                                                            strict=True)]


def parse_number(text: str | None) -> float:
    """'12.50', '12,50', ' 1 200 ' -> float; missing or unparsable -> NaN (reported as missing)."""
    if text is None:
        return math.nan
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return math.nan
    try:
        value = float(cleaned)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _offers_frame(columns: dict[str, list]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({name: values for name, values in columns.items()})
    for name in ("price", "old_price", "stock"):
        if name in frame:
            frame[name] = frame[name].astype("float64")
    return frame


# --- 2b. what GX checks on top of the feed columns -----------------------------------------------

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

        present = _arrow_strings(offer_ids)
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

    cells = _arrow_strings(pictures)
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


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A column of the offers frame as an Arrow string array (missing values null)."""
    import pyarrow as pa

    return pa.array(values.astype(object).where(values.notna(), None).tolist(), pa.string())


def _positions_in(values: pd.Series, candidates: list[str] | pa.Array) -> Any:
    """Per value, the index of its first occurrence among the candidates, -1 if absent (pyarrow, not
    pandas' isin: on Arrow-backed strings that runs a Python loop per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = _arrow_strings(values)
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


# --- 2c. the Great Expectations suite --------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One expectation and the plain-language rule it enforces (shown in reports)."""
    expectation: str          # class name in great_expectations.expectations
    rule: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    whole_feed: bool = False  # needs every offer at once (checked on the offer ids alone when in chunks)


def suite_rules(profile: str) -> list[Rule]:
    """The rules for a feed profile; $PARAMETER values are filled per run."""
    def param(name: str) -> dict[str, str]:
        return {"$PARAMETER": name}

    rules = [
        Rule("ExpectTableColumnsToMatchSet", "the feed has every required column",
             {"column_set": list(REQUIRED_OFFER_COLUMNS[profile]), "exact_match": False}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has an id", {"column": "offer_id"}),
        Rule("ExpectColumnValueLengthsToBeBetween", "offer ids are not empty", {"column": "offer_id", "min_value": 1}),
        Rule("ExpectColumnValuesToBeUnique", "offer ids are unique", {"column": "offer_id"}, whole_feed=True),
        Rule("ExpectColumnValuesToBeNull", "offer ids are the ids of goods that should be published (stable ids)",
             {"column": "unexpected_offer_id"}),
        Rule("ExpectTableRowCountToEqual", "every good that should be published is in the feed",
             {"value": param("expected_offer_count")}, whole_feed=True),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a name", {"column": "name"}),
        Rule("ExpectColumnValueLengthsToBeBetween", "names are not empty", {"column": "name", "min_value": 1}),
        Rule("ExpectColumnValuesToNotMatchRegex", "names have no control characters",
             {"column": "name", "regex": CONTROL_CHARACTERS_REGEX}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a price", {"column": "price"}),
        Rule("ExpectColumnValuesToBeBetween", "prices are above 0",
             {"column": "price", "min_value": 0, "strict_min": True}),
        Rule("ExpectColumnPairValuesAToBeGreaterThanB", "an old price is above the price",
             {"column_A": "old_price", "column_B": "price", "ignore_row_if": "either_value_is_missing"}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a stock quantity", {"column": "stock"}),
        Rule("ExpectColumnValuesToBeBetween", "stock is not negative", {"column": "stock", "min_value": 0}),
        Rule("ExpectColumnValuesToBeNull", "stock is a whole number", {"column": "fractional_stock"}),
        Rule("ExpectColumnPairValuesToBeEqual", "stock equals the good's free stock",
             {"column_A": "stock", "column_B": "free_stock", "ignore_row_if": "either_value_is_missing"}),
        Rule("ExpectColumnValuesToBeNull", "every picture file is published", {"column": "missing_pictures"}),
    ]
    if profile in YML_PROFILES:
        rules += [
            Rule("ExpectColumnValuesToNotBeNull", "every offer has a categoryId", {"column": "category_id"}),
            Rule("ExpectColumnValuesToBeNull", "every categoryId is defined in the feed's <categories>",
                 {"column": "undefined_category_id"}),
        ]
    return rules


SuitePart = Literal["all", "rows", "whole_feed"]


def suite_part(profile: str, part: SuitePart) -> list[Rule]:
    """A profile's rules: all of them, the per-row ones (run on each chunk of a large feed), or the ones
    that need the whole feed (run once on its offer ids)."""
    rules = suite_rules(profile)
    if part == "all":
        return rules
    return [rule for rule in rules if rule.whole_feed == (part == "whole_feed")]


REQUIRED_OFFER_COLUMNS = {
    **{profile: OFFER_COLUMNS for profile in YML_PROFILES},
    "torgsoft_csv": ("offer_id", "name", "price", "stock"),
    "woocommerce_csv": ("offer_id", "name", "price", "stock"),
}


class _Gx:
    """One ephemeral GX context per process with one validation definition per profile (building is slow)."""

    _lock = threading.Lock()
    _instance: _Gx | None = None

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        # GX logs its ephemeral set-up (temporary docs site) at INFO: noise in every task log.
        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.context = gx.get_context(mode="ephemeral")
        # GX draws a tqdm bar per validation in task logs unless told not to.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.asset = self.context.data_sources.add_pandas(name="shopsync_feeds").add_dataframe_asset(name="offers")
        self.definitions: dict[str, Any] = {}

    @classmethod
    def warm_up(cls) -> threading.Thread:
        """Import GX and build its context in a background thread (GX takes seconds to import), so a process
        that will validate later (`shopsync export`) does it while it waits on the database and the disk."""
        thread = threading.Thread(target=cls.get, name="gx-warm-up", daemon=True)
        thread.start()
        return thread

    @classmethod
    def get(cls) -> _Gx:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def definition(self, profile: str, part: SuitePart = "all") -> Any:
        with self._lock:
            if (profile, part) not in self.definitions:
                self.definitions[profile, part] = self._build(profile, part)
            return self.definitions[profile, part]

    def _build(self, profile: str, part: SuitePart) -> Any:
        name = f"feed_{profile}" if part == "all" else f"feed_{profile}_{part}"
        suite = self.context.suites.add(self.gx.ExpectationSuite(name=name))
        for rule in suite_part(profile, part):
            expectation_class = getattr(self.gx.expectations, rule.expectation)
            suite.add_expectation(expectation_class(**rule.kwargs, meta={"rule": rule.rule}))
        batch = self.asset.add_batch_definition_whole_dataframe(name=name)
        return self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=name, data=batch, suite=suite))


def warm_up_great_expectations() -> threading.Thread:
    return _Gx.warm_up()


def prepare_suites(profiles: Iterable[str]) -> None:
    """Import GX and build the validation definitions of these profiles now (in this thread)."""
    gx = _Gx.get()
    for profile in profiles:
        gx.definition(profile)


# --- 2d. results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str                 # GX expectation type, e.g. "expect_column_values_to_be_unique"
    column: str | None
    unexpected_count: int | None     # offending rows (None for table-level checks)
    examples: list[str]
    rule: str = ""                   # the rule in words


@dataclass
class FeedValidation:
    success: bool
    rows: int
    failures: list[ExpectationFailure]
    seconds: float
    profile: str = ""
    path: str = ""

    def summary(self) -> str:
        head = f"{Path(self.path).name or self.profile} ({self.profile}): {self.rows} offers"
        if self.success:
            return f"{head}, valid ({self.seconds:.1f} s)"
        failed = "; ".join(
            f"{f.rule or f.expectation}"
            + (f" [{f.column}]" if f.column else "")
            + (f": {f.unexpected_count} rows" if f.unexpected_count is not None else "")
            for f in self.failures
        )
        return f"{head}, INVALID: {failed}"


def validate_feed(
    path: Path,
    profile: str,
    expected: pd.DataFrame,
    encoding: str = "utf-8",
    published_photo_dir: Path | None = None,
    data: FeedData | Iterable[FeedData] | None = None,
) -> FeedValidation:
    """Read the written feed back and run the profile's suite on it.

    `data` is the feed already read back (its offers, as the writer parsed its own output): then the file
    is not read again. It may come in chunks (consecutive offers of the feed, at least one chunk): the suite
    then runs per chunk without its whole-feed rules, which run once on the offer ids of every chunk, so
    memory holds one chunk, not the feed.
    `expected` has good_id and free_stock for every good that should be in the feed.
    `published_photo_dir` is where the photos are published from (process_photos' output_dir): see
    PublishedPhotos.has for when a picture counts as present.
    """
    started = time.perf_counter()
    try:
        if data is None:
            data = read_feed(path, profile, encoding)
    except FeedUnreadable as exc:
        return unreadable_feed(path, profile, [str(exc)], started)
    checks = CheckInputs.of(expected, published_photo_dir)
    chunks = iter([data] if isinstance(data, FeedData) else data)
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        rows, failures = len(first.frame), _checked_chunk(first, profile, "all", checks)
    else:
        rows, failures = _checked_in_chunks(itertools.chain([first, second], chunks), profile, checks)
    order = {rule.rule: index for index, rule in enumerate(suite_rules(profile))}
    failures = sorted(failures, key=lambda f: order.get(f.rule, len(order)))
    return FeedValidation(not failures, rows, failures, time.perf_counter() - started, profile, str(path))


def _checked_chunk(data: FeedData, profile: str, part: SuitePart, checks: CheckInputs) -> list[ExpectationFailure]:
    add_check_columns(data, checks)
    failures = _run_suite(data, profile, part, checks, _absent_columns(data, profile))
    if data.malformed_rows:
        failures.append(ExpectationFailure(
            "shopsync_rows_match_header", None, len(data.malformed_rows),
            [f"line {line}" for line in data.malformed_rows[:EXAMPLES]],
            "every row has as many fields as the header"))
    return failures


def _checked_in_chunks(chunks: Iterable[FeedData], profile: str,
                       checks: CheckInputs) -> tuple[int, list[ExpectationFailure]]:
    """Per-row rules chunk by chunk, then the whole-feed rules on the offer ids of all of them."""
    import pandas as pd
    import pyarrow as pa

    failures = _MergedFailures()
    offer_ids: list[pa.Array] = []      # Arrow, not the chunks' Series: those would keep each chunk's frame alive
    rows = 0
    absent: set[str] = set()
    for chunk in chunks:
        failures.add(_checked_chunk(chunk, profile, "rows", checks))
        absent = _absent_columns(chunk, profile)
        frame = chunk.frame
        ids = frame["offer_id"] if "offer_id" in frame else pd.Series([None] * len(frame), dtype=object)
        offer_ids.append(_arrow_strings(ids))
        rows += len(frame)
    whole = FeedData(pd.DataFrame({"offer_id": pa.chunked_array(offer_ids, pa.string()).to_pandas()}))
    failures.add(_run_suite(whole, profile, "whole_feed", checks, absent))
    return rows, failures.merged()


class _MergedFailures:
    """One failure per expectation over every chunk: counts added, the first EXAMPLES examples kept."""

    def __init__(self) -> None:
        self.found: dict[tuple, ExpectationFailure] = {}

    def add(self, failures: list[ExpectationFailure]) -> None:
        for failure in failures:
            key = (failure.expectation, failure.column, failure.rule)
            before = self.found.get(key)
            if before is None:
                self.found[key] = failure
            elif before.unexpected_count is not None and failure.unexpected_count is not None:
                self.found[key] = replace(before, unexpected_count=before.unexpected_count + failure.unexpected_count,
                                          examples=(before.examples + failure.examples)[:EXAMPLES])

    def merged(self) -> list[ExpectationFailure]:
        return list(self.found.values())


def _absent_columns(data: FeedData, profile: str) -> set[str]:
    return set(REQUIRED_OFFER_COLUMNS[profile]) - set(data.frame.columns)


def unreadable_feed(path: Path, profile: str, problems: list[str], started: float) -> FeedValidation:
    """The result for a feed whose written bytes could not be read back as offers."""
    failure = ExpectationFailure("shopsync_feed_is_readable", None, None, problems[:EXAMPLES],
                                 "the written feed can be read back")
    return FeedValidation(False, 0, [failure], time.perf_counter() - started, profile, str(path))


def _run_suite(data: FeedData, profile: str, part: SuitePart, checks: CheckInputs,
               absent: set[str]) -> list[ExpectationFailure]:
    """The failed expectations of one part of the profile's suite on data (absent: required feed columns
    the feed lacks, reported once by the table-columns check)."""
    definition = _Gx.get().definition(profile, part)
    # Not unexpected_index_column_names: GX then reads every unexpected row cell by cell (minutes when a
    # whole 100k feed fails a rule). Row numbers are cheap; _examples maps them to offer ids.
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
    outcome = definition.run(
        batch_parameters={"dataframe": data.frame},
        expectation_parameters={"expected_offer_count": checks.expected_count},
        result_format=result_format,
    )
    failures = []
    for item in outcome.results:
        if item.success:
            continue
        failure = _failure(item, data, checks, absent)
        if failure is not None:
            failures.append(failure)
    return failures


def _failure(item: Any, data: FeedData, checks: CheckInputs, absent: set[str]) -> ExpectationFailure | None:
    config = item.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or (f"{kwargs['column_A']}, {kwargs['column_B']}" if "column_A" in kwargs else None)
    rule = (config.meta or {}).get("rule", "")
    exception = item.exception_info or {}
    if _raised(exception):
        if {kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")} & absent:
            return None          # the missing column is already reported by the table-columns check
        return ExpectationFailure(config.type, column, None, [_exception_message(exception)], rule)
    details = item.result or {}
    if config.type == "expect_table_columns_to_match_set":
        return ExpectationFailure(config.type, None, None, [f"missing column: {name}" for name in data.missing_columns]
                                  or [f"missing: {', '.join(sorted(absent))}"], rule)
    if config.type == "expect_table_row_count_to_equal":
        return ExpectationFailure(config.type, None, None, _row_count_examples(data, checks), rule)
    examples = _examples(details, _columns_of(kwargs), data.frame)
    return ExpectationFailure(config.type, column, details.get("unexpected_count"), examples, rule)


def _raised(exception: dict) -> bool:
    if exception.get("raised_exception"):
        return True
    return any(isinstance(info, dict) and info.get("raised_exception") for info in exception.values())


def _exception_message(exception: dict) -> str:
    if exception.get("exception_message"):
        return str(exception["exception_message"])
    for info in exception.values():
        if isinstance(info, dict) and info.get("exception_message"):
            return str(info["exception_message"])
    return "the expectation could not be evaluated"


def _columns_of(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    return [kwargs[key] for key in ("column_A", "column_B") if key in kwargs]


def _examples(details: dict, columns: list[str], frame: pd.DataFrame) -> list[str]:
    """'offer '12': price=0' for the first unexpected rows (GX gives their row numbers and values)."""
    values = details.get("partial_unexpected_list") or []
    rows = details.get("partial_unexpected_index_list") or []
    examples = []
    for position, value in enumerate(values[:EXAMPLES]):
        parts = value if len(columns) > 1 and isinstance(value, (tuple, list)) else [value]
        described = ", ".join(f"{name}={_plain(part)}" for name, part in zip(columns, parts, strict=False))
        row = rows[position] if position < len(rows) else None
        if columns == ["offer_id"]:
            examples.append(f"offer {_plain(value)}")
        elif isinstance(row, numbers.Integral) and "offer_id" in frame:
            examples.append(f"offer {_plain(frame['offer_id'].iat[row])}: {described}")
        else:
            examples.append(described)
    return examples


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)             # shows control characters and empty strings
    return str(getattr(value, "item", lambda: value)())


def _row_count_examples(data: FeedData, checks: CheckInputs) -> list[str]:
    offer_ids = data.frame["offer_id"] if "offer_id" in data.frame else data.frame.index.to_series().iloc[:0]
    missing = checks.missing_goods(offer_ids)
    examples = [f"{len(data.frame)} offers, {checks.expected_count} expected"]
    if missing:
        examples.append(f"missing goods: {', '.join(missing[:EXAMPLES])}" + (" …" if len(missing) > EXAMPLES else ""))
    return examples


# --- 2e. the report ------------------------------------------------------------------------------

def summarize(validations: list[FeedValidation], rejections: Rejections) -> str:
    """One short paragraph for task logs."""
    bad = [v for v in validations if not v.success]
    head = (f"{len(validations)} feeds validated, {len(bad)} invalid" if bad
            else f"{len(validations)} feeds validated, all valid")
    lines = [f"{head}; {rejections.summary()}"]
    lines += [f"  {v.summary()}" for v in bad]
    return "\n".join(lines)


def write_report(validations: list[FeedValidation], rejections: Rejections, path: Path, title: str = "") -> str:
    """Write a Markdown report (failed expectations with examples, excluded goods); return the summary."""
    import jinja2

    summary = summarize(validations, rejections)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(include_dir() / "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, autoescape=False,
    )
    environment.filters["md"] = markdown_cell
    text = environment.get_template("validation_report.md.j2").render(
        title=title, summary=summary, validations=validations, rejections=rejections)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return summary


def markdown_cell(value: object) -> str:
    """Safe inside a Markdown table cell: no raw HTML, pipes escaped, breaks and control characters visible."""
    text = CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
