"""torgsoft_csv (TSGoods.trs): parsed back with the csv module and checked value by value."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

import pyarrow as pa
import pytest
from test_feeds_base import CATEGORIES, full_item, make_ctx, make_item, write_feed

from shopsync.catalog import columns
from shopsync.catalog.feeds.base import CODE_PAGE_STAND_INS, MAX_REPLACED_EXAMPLES, write_batches
from shopsync.catalog.feeds.torgsoft_csv import DEFAULT_COLUMNS, STANDARD_COLUMNS, TorgsoftCsvWriter
from shopsync.catalog.model import CatalogItem, Category, Characteristic, FeedContext, WarehouseStock
from shopsync.core.config import FeedSettings


def parse(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=";"))


def records(data: bytes, encoding: str = "utf-8") -> list[dict[str, str]]:
    header, *rows = parse(data, encoding)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_default_columns_in_order() -> None:
    data, _ = write_feed("torgsoft_csv", [make_item()])
    assert parse(data)[0] == list(DEFAULT_COLUMNS)
    assert DEFAULT_COLUMNS[-4:] == ("ModelGoodID", "GoodPhotoList", "WarehouseQuantityForPartner",
                                    "PriceDiscountPercent")
    assert DEFAULT_COLUMNS[:5] == ("GoodID", "GoodName", "Description", "Country", "Articul")


def test_values_of_a_full_item() -> None:
    data, stats = write_feed("torgsoft_csv", [full_item()])
    (row,) = records(data)
    assert row == {
        "GoodID": "7", "GoodName": "Туфлі Ліра чорні 38", "Description": "<p>Шкіряні туфлі</p>",
        "Country": "Україна", "Articul": "ART-7", "RetailPrice": "2448.00", "WholesalePrice": "1500.00",
        "RetailPriceWithDiscount": "1958.36", "MinQuantityForOrder": "2", "Height": "10", "Width": "8",
        "Category": "2", "WarehouseQuantity": "5", "Display": "1", "TheSize": "38", "Color": "чорний",
        "Material": "шкіра", "FashionName": "Весна-2025", "Sex": "1", "ShortName": "Туфлі",
        "GoodTypeFull": "Взуття,Балетки", "ProducerCollectionFull": "Україна,Ліра,Весна-2025", "Season": "весна",
        "Barcode": "4820000000017", "PrimeCost": "1000.10", "SupplierCode": "SUP-1", "Analogs": "",
        "ModelGoodID": "70", "GoodPhotoList": "7_1.jpg,7_2.jpg", "WarehouseQuantityForPartner": "38=1,000|3=2,500",
        "PriceDiscountPercent": "20",
    }
    assert stats.rows == 1 and stats.bytes == len(data)


def test_text_is_quoted_numbers_and_empty_cells_are_not() -> None:
    item = make_item(5, price=Decimal("10.5"), description=None, category_id=None)
    data, _ = write_feed("torgsoft_csv", [item], columns=["GoodID", "GoodName", "RetailPrice", "Description",
                                                         "Category", "WarehouseQuantity"])
    assert data.decode().split("\r\n")[1] == '5;"Туфлі жіночі 5";10.50;;-1;3'


def test_header_names_are_quoted_and_lines_end_with_crlf() -> None:
    data, _ = write_feed("torgsoft_csv", [make_item(1), make_item(2)], columns=["GoodID", "Articul"])
    assert data == b'"GoodID";"Articul"\r\n1;"ART-1"\r\n2;"ART-2"\r\n'


def test_header_can_be_left_out() -> None:
    data, stats = write_feed("torgsoft_csv", [make_item(1)], columns=["GoodID"], header=False)
    assert data == b"1\r\n"
    assert stats.rows == 1


def test_quotes_semicolons_and_newlines_inside_text_survive() -> None:
    tricky = 'Туфлі "Ліра"; модель\r\nнова'
    data, _ = write_feed("torgsoft_csv", [make_item(1, name=tricky)], columns=["GoodID", "GoodName"])
    assert '"Туфлі ""Ліра""; модель' in data.decode()
    assert records(data)[0]["GoodName"] == tricky


def test_no_promo_when_old_price_is_not_above_price() -> None:
    for old_price in (None, Decimal("1958.36"), Decimal("100")):
        (row,) = records(write_feed("torgsoft_csv", [make_item(1, old_price=old_price)])[0])
        assert (row["RetailPrice"], row["RetailPriceWithDiscount"], row["PriceDiscountPercent"]) == \
            ("1958.36", "1958.36", "0")


def test_item_without_price_has_empty_price_cells() -> None:
    (row,) = records(write_feed("torgsoft_csv", [make_item(1, price=None)])[0])
    assert row["RetailPrice"] == row["RetailPriceWithDiscount"] == ""


def test_invisible_item_is_written_hidden_and_without_stock() -> None:
    (row,) = records(write_feed("torgsoft_csv", [make_item(1, visible=False, free_stock=4)])[0])
    assert (row["Display"], row["WarehouseQuantity"]) == ("0", "0")


def test_item_without_category_is_minus_one_and_has_no_path() -> None:
    (row,) = records(write_feed("torgsoft_csv", [make_item(1, category_id=None, country=None, brand=None)])[0])
    assert (row["Category"], row["GoodTypeFull"], row["ProducerCollectionFull"]) == ("-1", "", "")


def test_producer_collection_keeps_positions_of_missing_parts() -> None:
    (row,) = records(write_feed("torgsoft_csv", [make_item(1, country=None, collection="Літо")])[0])
    assert row["ProducerCollectionFull"] == ",Ліра,Літо"


def test_columns_setting_chooses_set_and_order() -> None:
    data, _ = write_feed("torgsoft_csv", [full_item()], columns=["WarehouseQuantity", "GoodID", "Barcode"])
    assert parse(data) == [["WarehouseQuantity", "GoodID", "Barcode"], ["5", "7", "4820000000017"]]


def test_extra_known_column_with_photo_links() -> None:
    (row,) = records(write_feed("torgsoft_csv", [full_item()], columns=["GoodID", "GoodPhotoListWithLinks"])[0])
    assert row["GoodPhotoListWithLinks"] == "https://shop.example/photos/7_1.jpg,https://shop.example/photos/7_2.jpg"


def test_unknown_column_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown column\(s\) Colour, Prise; known columns: GoodID, GoodName"):
        write_feed("torgsoft_csv", [make_item()], columns=["GoodID", "Colour", "Prise"])


def test_a_wrong_column_setting_fails_at_once_not_after_retries() -> None:
    from shopsync.core.errors import PermanentError

    with pytest.raises(PermanentError) as failure:
        write_feed("torgsoft_csv", [make_item()], columns=["GoodID", "Colour"])
    assert not failure.value.retryable


def test_column_listed_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="listed twice: GoodID"):
        write_feed("torgsoft_csv", [make_item()], columns=["GoodID", "GoodID"])


def test_characteristic_columns_are_appended_to_the_defaults() -> None:
    item = full_item()
    data, _ = write_feed("torgsoft_csv", [item], characteristic_columns={
        "material_verha": "Матеріал верху", "polnota": "Повнота"})
    header = parse(data)[0]
    assert header[-2:] == ["material_verha", "polnota"]
    (row,) = records(data)
    assert (row["material_verha"], row["polnota"]) == ("шкіра", "")


def test_characteristic_columns_can_be_placed_by_columns() -> None:
    item = make_item(1, characteristics=[Characteristic("Повнота", "5", None, "polnota")])
    data, _ = write_feed("torgsoft_csv", [item], columns=["GoodID", "polnota", "GoodName"],
                         characteristic_columns={"polnota": "Повнота", "visota_kabluka": "Висота підборів"})
    assert parse(data) == [["GoodID", "polnota", "GoodName", "visota_kabluka"], ["1", "5", "Туфлі жіночі 1", ""]]


def test_characteristic_column_may_not_reuse_a_standard_name() -> None:
    with pytest.raises(ValueError, match="reuse standard column names: Color"):
        write_feed("torgsoft_csv", [make_item()], characteristic_columns={"Color": "Колір"})


def test_height_width_and_material_are_empty_without_those_characteristics() -> None:
    (row,) = records(write_feed("torgsoft_csv", [make_item(1, characteristics=[])])[0])
    assert (row["Height"], row["Width"], row["Material"]) == ("", "", "")


def test_cp1251_output_decodes_and_keeps_cyrillic() -> None:
    item = make_item(1, name="Ґудзик їжак є", description="Подарунок 🎁 для неї 👟")
    data, stats = write_feed("torgsoft_csv", [item], encoding="cp1251")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (row,) = records(data, "cp1251")
    assert row["GoodName"] == "Ґудзик їжак є"
    assert row["Description"] == "Подарунок ? для неї ?"
    assert stats.replaced_chars == 2


def test_utf8_sig_output_starts_with_one_bom() -> None:
    data, stats = write_feed("torgsoft_csv", [make_item(1), make_item(2)], encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf\"GoodID\"")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert stats.bytes == len(data)


def test_plain_utf8_has_no_bom() -> None:
    data, _ = write_feed("torgsoft_csv", [make_item()])
    assert data.startswith(b'"GoodID"')


def test_long_name_and_description_are_cut_to_the_format_limits() -> None:
    item = make_item(1, name="Н" * 600, description="о" * 300)
    data, stats = write_feed("torgsoft_csv", [item])
    (row,) = records(data)
    assert (len(row["GoodName"]), len(row["Description"])) == (500, 255)
    assert stats.truncated == 2


def test_output_is_deterministic() -> None:
    rows = [full_item(), make_item(8), make_item(9, visible=False)]
    assert write_feed("torgsoft_csv", rows)[0] == write_feed("torgsoft_csv", list(rows))[0]


def test_no_rows_gives_only_the_header() -> None:
    data, stats = write_feed("torgsoft_csv", iter([]), columns=["GoodID"])
    assert data == b'"GoodID"\r\n'
    assert stats.rows == 0


def test_render_gives_one_crlf_line_per_good_and_counts_cuts() -> None:
    batch = columns.batch_from_items([make_item(1, name="Н" * 501), make_item(2, name='a "b"')])
    rendered = TorgsoftCsvWriter().render(batch, make_ctx(), FeedSettings(profile="torgsoft_csv",
                                                                         columns=["GoodID", "GoodName"]))
    assert rendered.fragments.to_pylist() == [f'1;"{"Н" * 500}"\r\n', '2;"a ""b"""\r\n']
    assert (rendered.truncated, rendered.skipped) == (1, 0)


def test_render_of_a_sliced_batch_takes_its_own_rows() -> None:
    items = [make_item(i, characteristics=[Characteristic("Висота", str(i), None, f"h{i}")],
                       warehouses=[WarehouseStock(i, Decimal(i))]) for i in range(1, 5)]
    settings = FeedSettings(profile="torgsoft_csv", columns=["GoodID", "Height", "WarehouseQuantityForPartner"])
    rendered = TorgsoftCsvWriter().render(columns.batch_from_items(items).slice(2), make_ctx(), settings)
    assert rendered.fragments.to_pylist() == ['3;"3";"3=3,000"\r\n', '4;"4";"4=4,000"\r\n']


# --- randomized: nasty values, parsed back and checked against expectations computed here -------------------

PIECES = ["", "a", "Z", " ", '"', '""', ";", ",", "|", "=", "\r\n", "\n", "\r", "\t", "'", "Ї", "ґ", "ё", "Ж",
          "é", "€", "№", "中", "🎁", "👟", "=SUM(A1)", "-1", "  x  "]
CHARACTERISTIC_NAMES = ["Висота", "Ширина", "Колір", "Повнота", "Матеріал верху", "Висота підборів", ""]
SLUGS = ["visota", "shirina", "kolir", "polnota", "material_verha", "material", "xmaterialx", "materia", ""]
CUSTOM = {"polnota": "Повнота", "visota_kabluka": "Висота підборів", "kolir_x": "Колір"}
T = TypeVar("T")
RANDOM_CATEGORIES = {**CATEGORIES, 5: Category(id=5, parent_id=None, name="", name_ua=None, path=()),
                     6: Category(id=6, parent_id=1, name='a "b";c', name_ua=None, path=("Взуття", 'a "b";c'))}


def random_text(rng: random.Random, long_around: int | None = None) -> str:
    if long_around is not None and rng.random() < 0.3:
        size = long_around + rng.randint(-2, 3)
        return "".join(rng.choice(["Н", "a", "🎁", "є", '"', "\r\n"]) for _ in range(size))
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))


def maybe(rng: random.Random, value: T) -> T | None:
    return None if rng.random() < 0.25 else value


def random_money(rng: random.Random) -> Decimal | None:
    cents = rng.choice([0, 1, -1, 5, 99, 100, 150, 539900, -500, 123456789, rng.randint(-10**6, 10**9)])
    return maybe(rng, Decimal(cents) / 100)


def random_item(rng: random.Random, good_id: int) -> CatalogItem:
    price = random_money(rng)
    old_price = rng.choice([None, random_money(rng), price and price + Decimal(rng.randint(1, 5000)) / 100])
    return CatalogItem(
        good_id=good_id, name=random_text(rng, 500), price=price, old_price=old_price,
        wholesale_price=random_money(rng), free_stock=rng.randint(0, 50),
        warehouses=[WarehouseStock(rng.randint(1, 40), Decimal(rng.randint(-5000, 50000)) / 1000)
                    for _ in range(rng.choice([0, 0, 1, 2, 3]))],
        category_id=rng.choice([None, 1, 2, 5, 6, 10, 999]),
        article=maybe(rng, random_text(rng)), barcode=maybe(rng, random_text(rng)),
        short_name=maybe(rng, random_text(rng)), description=maybe(rng, random_text(rng, 255)),
        brand=maybe(rng, random_text(rng)), country=maybe(rng, random_text(rng)),
        collection=maybe(rng, random_text(rng)), model_group_id=maybe(rng, rng.randint(1, 99)),
        size=maybe(rng, random_text(rng)), color=maybe(rng, random_text(rng)),
        season=maybe(rng, random_text(rng)), sex=maybe(rng, rng.randint(0, 5)),
        min_order_qty=rng.choice([Decimal(1), Decimal(2), Decimal("2.5"), Decimal("0.125"), Decimal("100"),
                                  Decimal("0.001"), Decimal("10.010")]),
        prime_cost=random_money(rng), supplier_code=maybe(rng, random_text(rng)),
        visible=rng.random() < 0.8,
        characteristics=[Characteristic(rng.choice(CHARACTERISTIC_NAMES), random_text(rng), None, rng.choice(SLUGS))
                         for _ in range(rng.randint(0, 6))],
        pictures=[f"https://shop.example/photos/{random_text(rng)}" for _ in range(rng.randint(0, 2))],
        photo_names=[random_text(rng) for _ in range(rng.choice([0, 1, 1, 2, 3]))],
    )


def random_columns(rng: random.Random) -> list[str]:
    names = [*STANDARD_COLUMNS, *CUSTOM]
    rng.shuffle(names)
    return names[:rng.randint(1, len(names))]


def expected_cell(item: CatalogItem, column: str, ctx: FeedContext) -> tuple[str | None, bool]:
    """(value or None for an empty cell, numeric) for one column, from the format rules."""
    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def first(test: Callable[[Characteristic], bool]) -> str | None:
        return next((c.value for c in item.characteristics if test(c)), None)

    promo = item.price is not None and item.old_price is not None and item.old_price > item.price
    percent = 0
    if item.price is not None and item.old_price is not None and item.old_price > max(item.price, Decimal(0)):
        exact = (item.old_price - item.price) * 100 / item.old_price
        percent = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    qty = item.min_order_qty.normalize()
    category = ctx.categories.get(item.category_id) if item.category_id is not None else None
    parts = [item.country, item.brand, item.collection]
    if column in CUSTOM:
        return first(lambda c: c.name == CUSTOM[column]), False
    numeric = {
        "GoodID": str(item.good_id),
        "RetailPrice": money(item.old_price if promo else item.price),
        "WholesalePrice": money(item.wholesale_price),
        "RetailPriceWithDiscount": money(item.price),
        "MinQuantityForOrder": f"{qty:f}" if qty != int(qty) else str(int(qty)),
        "Category": str(item.category_id if item.category_id is not None else -1),
        "WarehouseQuantity": str(item.free_stock) if item.visible else "0",
        "Display": str(int(item.visible)),
        "Sex": None if item.sex is None else str(item.sex),
        "PrimeCost": money(item.prime_cost),
        "ModelGoodID": None if item.model_group_id is None else str(item.model_group_id),
        "PriceDiscountPercent": str(percent),
    }
    if column in numeric:
        return numeric[column], True
    text = {
        "GoodName": item.name, "Description": item.description, "Country": item.country, "Articul": item.article,
        "TheSize": item.size, "Color": item.color, "FashionName": item.collection, "ShortName": item.short_name,
        "Season": item.season, "Barcode": item.barcode, "SupplierCode": item.supplier_code,
    }
    if column in text:
        value = text[column]
        return (value if column == "GoodName" or value != "" else None), False
    others = {
        "Height": first(lambda c: c.name == "Висота"),
        "Width": first(lambda c: c.name == "Ширина"),
        "Material": first(lambda c: "material" in c.slug),
        "GoodTypeFull": None if category is None else ",".join(category.path),
        "ProducerCollectionFull": ",".join(p or "" for p in parts) if any(parts) else None,
        "Analogs": None,
        "GoodPhotoList": ",".join(item.photo_names) or None,
        "GoodPhotoListWithLinks": ",".join(item.pictures) or None,
        "WarehouseQuantityForPartner": "|".join(
            f"{w.warehouse_id}={w.free.quantize(Decimal('0.001'))}".replace(".", ",") for w in item.warehouses) or None,
    }
    return others[column], False


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_random_nasty_items_parse_back_to_the_expected_values(seed: int, encoding: str) -> None:
    rng = random.Random(f"{seed}-{encoding}")
    items = [random_item(rng, good_id) for good_id in range(1, rng.randint(1, 120))]
    names = random_columns(rng) if seed % 3 else None
    header = seed != 4
    ctx = make_ctx(categories=RANDOM_CATEGORIES)
    data, stats = write_feed("torgsoft_csv", items, ctx, columns=names, characteristic_columns=CUSTOM,
                             encoding=encoding, header=header)

    resolved = list(names or DEFAULT_COLUMNS) + [name for name in CUSTOM if name not in (names or ())]
    lines, cut = [], 0
    for item in items:
        cells = []
        for column in resolved:
            value, numeric = expected_cell(item, column, ctx)
            limit = {"GoodName": 500, "Description": 255}.get(column)
            if value is not None and limit is not None and len(value) > limit:
                value, cut = value[:limit], cut + 1
            cells.append("" if value is None else value if numeric else '"' + value.replace('"', '""') + '"')
        lines.append(";".join(cells) + "\r\n")
    text = (";".join(f'"{name}"' for name in resolved) + "\r\n" if header else "") + "".join(lines)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    stand_ins = CODE_PAGE_STAND_INS.get(codec, {})
    text = text.translate(stand_ins)
    unencodable = [char for char in text if not char.encode(codec, errors="ignore")]
    examples = tuple(dict.fromkeys(f"U+{ord(char):04X} {char}" for char in unencodable))[:MAX_REPLACED_EXAMPLES]
    expected = (b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b"") + text.encode(codec, errors="replace")

    assert data == expected
    assert stats == type(stats)(rows=len(items), bytes=len(data), replaced_chars=len(unencodable), truncated=cut,
                                replaced_examples=examples)
    rows = parse(data[3:] if encoding == "utf-8-sig" else data, codec)
    if header:
        assert rows.pop(0) == resolved
    for item, row in zip(items, rows, strict=True):
        for column, cell in zip(resolved, row, strict=True):
            value = expected_cell(item, column, ctx)[0] or ""
            value = value[:{"GoodName": 500, "Description": 255}.get(column, len(value))]
            assert cell == value.translate(stand_ins).encode(codec, errors="replace").decode(codec), (item.good_id,
                                                                                                      column)


def test_feed_batches_from_the_snapshot_and_items_write_the_same_bytes() -> None:
    rng = random.Random(7)
    items = [random_item(rng, good_id) for good_id in range(1, 300)]
    settings = FeedSettings(profile="torgsoft_csv", characteristic_columns=CUSTOM, encoding="cp1251")
    ctx = make_ctx(categories=RANDOM_CATEGORIES)
    from_items, stats = write_feed("torgsoft_csv", items, ctx, characteristic_columns=CUSTOM, encoding="cp1251")
    batch = columns.batch_from_items(items)
    out = io.BytesIO()
    batches = [batch.slice(0, 100), batch.slice(100, 1), batch.slice(101), pa.RecordBatch.from_pylist(
        [], schema=columns.FEED_SCHEMA)]
    assert write_batches(TorgsoftCsvWriter(), batches, out, ctx, settings) == stats
    assert out.getvalue() == from_items
