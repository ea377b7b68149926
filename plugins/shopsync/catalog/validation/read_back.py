"""Written feeds read back as offers: what a feed file (or one slice of its bytes) says, as a DataFrame with
OFFER_COLUMNS, parsed the way a marketplace would. The per-good cache of the catalog pass keeps these offers,
so this module is part of its fingerprint (render/cache.RENDERING_MODULES).

Importing this module is cheap: pandas, lxml and pyarrow are imported when first used.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# A CSV field is as long as the value in it (descriptions of 1 MB exist). The csv module refuses fields over
# its limit (128 KiB by default) with "field larger than field limit", which made such a feed unreadable and
# blocked it; every cp1251 feed is read back by csv.reader. The limit is per process: the largest it takes.
CSV_FIELD_LIMIT = 2**31 - 1
csv.field_size_limit(CSV_FIELD_LIMIT)

OFFER_COLUMNS = ("offer_id", "name", "price", "old_price", "stock", "category_id", "picture_count", "pictures")

# Element names per YML profile: a contract with the feed writers. Its keys are the YML profiles read back.
YML_OLD_PRICE = {"yml": "oldprice", "prom_yml": "oldprice", "rozetka_yml": "price_old"}
YML_STOCK = {"yml": "stock_quantity", "prom_yml": "quantity_in_stock", "rozetka_yml": "stock_quantity"}
YML_PROFILES = tuple(YML_OLD_PRICE)


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
CSV_PROFILES = tuple(CSV_LAYOUTS)
# The profiles whose feeds are read back and validated (the others: companion files for people).
PROFILES = YML_PROFILES + CSV_PROFILES
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
    (the catalog pass reads written offers back with it in worker processes that import nothing else)."""
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

