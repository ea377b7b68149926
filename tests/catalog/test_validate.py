"""Item checks, and the GX suite on written feeds read back (feeds made here in the writers' contract shape)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from shopsync.catalog.columns import batch_from_items
from shopsync.catalog.model import CatalogItem, Category, FeedContext
from shopsync.catalog.validate import (
    FeedData,
    FeedValidation,
    FeedValidationError,
    Rejections,
    item_problems,
    markdown_cell,
    parse_number,
    raise_on_rejections,
    read_feed,
    split_batch,
    summarize,
    validate_feed,
    write_report,
)

OLD_PRICE = {"yml": "oldprice", "prom_yml": "oldprice", "rozetka_yml": "price_old"}
STOCK = {"yml": "stock_quantity", "prom_yml": "quantity_in_stock", "rozetka_yml": "stock_quantity"}
TORGSOFT_HEADER = ["GoodID", "GoodName", "RetailPrice", "WarehouseQuantity", "Category", "GoodPhotoList", "Display"]
WOO_HEADER = ["Type", "SKU", "Name", "Regular price", "Sale price", "Stock", "Categories", "Images",
              "Meta: _shopsync_good_id"]


# --- fixtures and feed builders ------------------------------------------------------------------

@pytest.fixture
def ctx() -> FeedContext:
    shoes = Category(10, None, "Взуття", None, ("Взуття",))
    boots = Category(11, 10, "Чоботи", None, ("Взуття", "Чоботи"))
    return FeedContext("demo", "Демо", "ТОВ Демо", "https://demo.example", "UAH",
                       datetime(2024, 5, 1, 12, tzinfo=UTC), {10: shoes, 11: boots})


def item(**changes) -> CatalogItem:
    values = {"good_id": 1, "name": "Чоботи жіночі", "price": Decimal("1250.00"), "free_stock": 3, "category_id": 11}
    return CatalogItem(**{**values, **changes})


def offers(count: int = 3) -> list[dict]:
    return [
        {"id": str(good), "name": f"Чоботи {good} & <шкіра>", "price": "1250.50",
         "old_price": "1500" if good == 1 else None, "stock": "2", "category": "11", "pictures": [f"https://demo.example/photos/detail/{good}_0.jpg"]}
        for good in range(1, count + 1)
    ]


def expected_for(rows: list[dict], stock: int = 2) -> pd.DataFrame:
    ids = [int(row["id"]) for row in rows]
    return pd.DataFrame({"good_id": ids, "free_stock": [stock] * len(ids)})


def write_yml(path: Path, profile: str, rows: list[dict], categories: tuple[tuple[str, str | None], ...] = (
        ("10", None), ("11", "10"))) -> Path:
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("yml_catalog", date="2024-05-01 12:00"), xf.element("shop"):
            xf.write(_text_element("name", "Демо"))
            with xf.element("categories"):
                for category_id, parent in categories:
                    attributes = {"id": category_id, **({"parentId": parent} if parent else {})}
                    xf.write(_text_element("category", f"Категорія {category_id}", **attributes))
            with xf.element("offers"):
                for row in rows:
                    xf.write(_yml_offer(profile, row))
    return path


def _text_element(tag: str, text: str | None, **attributes: str) -> etree._Element:
    element = etree.Element(tag, **attributes)
    element.text = text
    return element


def _yml_offer(profile: str, row: dict) -> etree._Element:
    offer = etree.Element("offer", available="true")
    if row["id"] is not None:
        offer.set("id", row["id"])
    for tag, key in (("price", "price"), (OLD_PRICE[profile], "old_price"), ("currencyId", None),
                     ("categoryId", "category"), (STOCK[profile], "stock")):
        value = "UAH" if key is None else row.get(key)
        if value is not None:
            etree.SubElement(offer, tag).text = value
    for picture in row["pictures"]:
        etree.SubElement(offer, "picture").text = picture
    if row.get("name") is not None:
        etree.SubElement(offer, "name").text = row["name"]
    for index in range(3):
        etree.SubElement(offer, "param", name=f"Параметр {index}").text = "значення"
    return offer


def write_torgsoft(path: Path, rows: list[dict], encoding: str = "cp1251",
                   header: list[str] = TORGSOFT_HEADER) -> Path:
    with open(path, "w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(header)
        for row in rows:
            values = {"GoodID": row["id"], "GoodName": row["name"], "RetailPrice": row["price"].replace(".", ","),
                      "WarehouseQuantity": row["stock"], "Category": "Взуття/Чоботи",
                      "GoodPhotoList": ",".join(p.rsplit("/", 1)[-1] for p in row["pictures"]), "Display": "1"}
            writer.writerow([values[name] for name in header])
    return path


def write_woo(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(WOO_HEADER)
        writer.writerow(["variable", "MODEL-1", "Чоботи (модель)", "", "", "", "Взуття > Чоботи", "", ""])
        for row in rows:
            regular, sale = (row["old_price"], row["price"]) if row.get("old_price") else (row["price"], "")
            writer.writerow(["variation", f"SKU-{row['id']}", row["name"], regular, sale, row["stock"],
                             "Взуття > Чоботи", ", ".join(row["pictures"]), row["id"]])
    return path


def write_feed(tmp_path: Path, profile: str, rows: list[dict]) -> tuple[Path, str]:
    if profile == "torgsoft_csv":
        return write_torgsoft(tmp_path / "TSGoods.trs", rows), "cp1251"
    if profile == "woocommerce_csv":
        return write_woo(tmp_path / "woo.csv", rows), "utf-8"
    return write_yml(tmp_path / f"{profile}.xml", profile, rows), "utf-8"


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "photos"
    (directory / "detail").mkdir(parents=True)
    for good in range(1, 10):
        (directory / "detail" / f"{good}_0.jpg").write_bytes(b"jpeg")
    return directory


def failed(validation: FeedValidation) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in validation.failures}


def validate_yml(tmp_path: Path, rows: list[dict], expected: pd.DataFrame | None = None, profile: str = "yml",
                 **kwargs) -> FeedValidation:
    path = write_yml(tmp_path / "feed.xml", profile, rows, **kwargs)
    return validate_feed(path, profile, expected if expected is not None else expected_for(rows))


# --- item checks ---------------------------------------------------------------------------------

def test_good_item_has_no_problems(ctx: FeedContext) -> None:
    assert item_problems(item(), ctx) == []


@pytest.mark.parametrize(("changes", "problem"), [
    ({"price": None}, "price is missing"),
    ({"price": Decimal("0")}, "price is 0"),
    ({"price": Decimal("-5")}, "price is negative: -5"),
    ({"price": Decimal("NaN")}, "price is not a number: NaN"),
    ({"name": ""}, "name is empty"),
    ({"name": "   "}, "name is empty"),
    ({"name": "Чоботи\x07"}, "name contains control character: 0x07"),
    ({"category_id": None}, "category is missing"),
    ({"category_id": 99}, "category is unknown: 99"),
    ({"free_stock": -1}, "free stock is negative: -1"),
    ({"free_stock": Decimal("1.5")}, "free stock is not a whole number: Decimal('1.5')"),
    ({"free_stock": True}, "free stock is not a whole number: True"),
])
def test_item_problems(ctx: FeedContext, changes: dict, problem: str) -> None:
    assert item_problems(item(**changes), ctx) == [problem]


def test_tab_and_line_breaks_in_names_are_allowed(ctx: FeedContext) -> None:
    assert item_problems(item(name="Чоботи\tзимові\r\nнові"), ctx) == []


def test_old_price_not_above_price_is_not_a_problem(ctx: FeedContext) -> None:
    assert item_problems(item(old_price=Decimal("100")), ctx) == []


def test_several_problems_are_all_listed(ctx: FeedContext) -> None:
    assert item_problems(item(price=Decimal(0), name="", category_id=None), ctx) == [
        "price is 0", "name is empty", "category is missing"]


def kept_ids(items: list[CatalogItem], ctx: FeedContext, rejections: Rejections) -> list[int]:
    return split_batch(batch_from_items(items), ctx, rejections).column("good_id").to_pylist()


def test_split_batch_keeps_good_goods_and_records_bad(ctx: FeedContext) -> None:
    items = [item(good_id=1), item(good_id=2, price=Decimal(0)), item(good_id=3),
             item(good_id=4, category_id=99), item(good_id=5, category_id=98)]
    rejections = Rejections()

    kept = kept_ids(items, ctx, rejections)

    assert kept == [1, 3]
    assert [(r.good_id, r.reasons) for r in rejections.items] == [
        (2, ("price is 0",)), (4, ("category is unknown: 99",)), (5, ("category is unknown: 98",))]
    assert rejections.by_reason() == {"category is unknown": 2, "price is 0": 1}
    assert rejections.summary() == "3 goods excluded (category is unknown 2, price is 0 1)"


@pytest.mark.parametrize("name", ["", "   ", "\u00a0\u2003", "Чоботи\x07", "Чоботи\x1f зимові"])
def test_split_batch_rejects_every_name_item_problems_rejects(ctx: FeedContext, name: str) -> None:
    rejections = Rejections()
    assert kept_ids([item(name=name)], ctx, rejections) == []
    assert rejections.items[0].reasons == tuple(item_problems(item(name=name), ctx))


def test_split_batch_keeps_names_with_tabs_and_line_breaks(ctx: FeedContext) -> None:
    assert kept_ids([item(name="Чоботи\tзимові\r\nнові")], ctx, Rejections()) == [1]


def test_fail_policy_lists_all_bad_goods_then_raises(ctx: FeedContext) -> None:
    items = [item(good_id=1), item(good_id=2, price=Decimal(0)), item(good_id=3, name="")]
    rejections = Rejections()

    assert kept_ids(items, ctx, rejections) == [1]
    with pytest.raises(FeedValidationError, match=r"2 goods failed .*on_bad_item=fail.*good 2 .*price is 0"):
        raise_on_rejections(rejections, 0, "fail")
    assert [r.good_id for r in rejections.items] == [2, 3]
    raise_on_rejections(rejections, 0, "skip")          # skip: listed, not raised


def test_fail_policy_with_only_good_goods_passes(ctx: FeedContext) -> None:
    rejections = Rejections()
    assert kept_ids([item(), item(good_id=2)], ctx, rejections) == [1, 2]
    raise_on_rejections(rejections, 0, "fail")


def test_parse_number_accepts_comma_decimals() -> None:
    assert parse_number("1 250,50") == 1250.5
    assert parse_number("7") == 7.0
    assert parse_number("") != parse_number("")      # NaN
    assert parse_number("abc") != parse_number("abc")


# --- good feeds pass -----------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["yml", "prom_yml", "rozetka_yml", "torgsoft_csv", "woocommerce_csv"])
def test_good_feed_passes(tmp_path: Path, photo_dir: Path, profile: str) -> None:
    rows = offers()
    path, encoding = write_feed(tmp_path, profile, rows)

    validation = validate_feed(path, profile, expected_for(rows), encoding, published_photo_dir=photo_dir)

    assert validation.failures == []
    assert validation.success and validation.rows == 3
    assert validation.summary().endswith(f"valid ({validation.seconds:.1f} s)")


def test_torgsoft_utf8_with_bom_passes_when_told_utf8(tmp_path: Path) -> None:
    rows = offers()
    path = write_torgsoft(tmp_path / "TSGoods.trs", rows, encoding="utf-8-sig")

    assert validate_feed(path, "torgsoft_csv", expected_for(rows), "utf-8").success


def test_gx_prints_no_progress_bars(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    rows = offers(40)
    validate_yml(tmp_path, rows)
    validate_yml(tmp_path, rows)

    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert captured.err == ""


# --- each broken rule is named -------------------------------------------------------------------

def test_duplicate_offer_id(tmp_path: Path) -> None:
    rows = offers()
    rows[2]["id"] = "2"

    validation = validate_yml(tmp_path, rows, expected_for(offers()))

    assert not validation.success
    assert ("expect_column_values_to_be_unique", "offer_id") in failed(validation)
    unique = next(f for f in validation.failures if f.expectation == "expect_column_values_to_be_unique")
    assert unique.unexpected_count == 2 and unique.examples == ["offer '2'", "offer '2'"]


@pytest.mark.parametrize("empty_id", ["", None])
def test_empty_or_missing_offer_id(tmp_path: Path, empty_id: str | None) -> None:
    rows = offers()
    rows[0]["id"] = empty_id

    validation = validate_yml(tmp_path, rows, expected_for(offers()))

    if empty_id == "":
        assert ("expect_column_value_lengths_to_be_between", "offer_id") in failed(validation)
    else:
        assert ("expect_column_values_to_not_be_null", "offer_id") in failed(validation)


def test_price_zero(tmp_path: Path) -> None:
    rows = offers()
    rows[1]["price"] = "0"

    validation = validate_yml(tmp_path, rows)

    assert failed(validation) == {("expect_column_values_to_be_between", "price")}
    assert validation.failures[0].examples == ["offer '2': price=0"]
    assert validation.failures[0].rule == "prices are above 0"


def test_missing_price(tmp_path: Path) -> None:
    rows = offers()
    rows[1]["price"] = None

    assert ("expect_column_values_to_not_be_null", "price") in failed(validate_yml(tmp_path, rows))


def test_old_price_below_price(tmp_path: Path) -> None:
    rows = offers()
    rows[0]["old_price"] = "1000"

    validation = validate_yml(tmp_path, rows, profile="rozetka_yml")

    assert failed(validation) == {("expect_column_pair_values_a_to_be_greater_than_b", "old_price, price")}
    assert validation.failures[0].examples == ["offer '1': old_price=1000, price=1250.5"]


def test_stock_different_from_free_stock(tmp_path: Path) -> None:
    rows = offers()
    expected = expected_for(rows)
    expected.loc[expected.good_id == 3, "free_stock"] = 5

    validation = validate_yml(tmp_path, rows, expected, profile="prom_yml")

    assert failed(validation) == {("expect_column_pair_values_to_be_equal", "stock, free_stock")}
    assert validation.failures[0].examples == ["offer '3': stock=2, free_stock=5"]


def test_negative_stock(tmp_path: Path) -> None:
    rows = offers()
    rows[0]["stock"] = "-1"
    expected = expected_for(rows)
    expected.loc[expected.good_id == 1, "free_stock"] = -1      # even when it "matches"

    validation = validate_yml(tmp_path, rows, expected)

    assert failed(validation) == {("expect_column_values_to_be_between", "stock")}


def test_fractional_stock(tmp_path: Path) -> None:
    rows = offers()
    rows[0]["stock"] = "1.5"

    validation = validate_yml(tmp_path, rows)

    assert ("expect_column_values_to_be_null", "fractional_stock") in failed(validation)


def test_undefined_category(tmp_path: Path) -> None:
    rows = offers()
    rows[2]["category"] = "77"

    validation = validate_yml(tmp_path, rows)

    assert failed(validation) == {("expect_column_values_to_be_null", "undefined_category_id")}
    assert validation.failures[0].examples == ["offer '3': undefined_category_id='77'"]


def test_missing_category_id(tmp_path: Path) -> None:
    rows = offers()
    rows[2]["category"] = None

    assert ("expect_column_values_to_not_be_null", "category_id") in failed(validate_yml(tmp_path, rows))


def test_empty_name(tmp_path: Path) -> None:
    rows = offers()
    rows[0]["name"] = ""

    validation = validate_yml(tmp_path, rows)

    assert failed(validation) == {("expect_column_value_lengths_to_be_between", "name")}


@pytest.mark.parametrize("profile", ["torgsoft_csv", "woocommerce_csv"])
def test_name_with_control_character(tmp_path: Path, profile: str) -> None:
    rows = offers()
    rows[1]["name"] = "Чоботи\x01"
    path, encoding = write_feed(tmp_path, profile, rows)

    validation = validate_feed(path, profile, expected_for(rows), encoding)

    assert failed(validation) == {("expect_column_values_to_not_match_regex", "name")}
    assert validation.failures[0].examples == ["offer '2': name='Чоботи\\x01'"]


def test_control_character_in_yml_makes_it_unreadable(tmp_path: Path) -> None:
    path = write_yml(tmp_path / "feed.xml", "yml", offers())
    path.write_bytes(path.read_bytes().replace("Чоботи 2".encode(), "Чоботи 2&#1;".encode()))

    validation = validate_feed(path, "yml", expected_for(offers()))

    assert not validation.success
    assert [f.expectation for f in validation.failures] == ["shopsync_feed_is_readable"]
    assert "not well-formed XML" in validation.failures[0].examples[0]


def test_missing_picture_file(tmp_path: Path, photo_dir: Path) -> None:
    rows = offers()
    rows[1]["pictures"].append("https://demo.example/photos/detail/2_1.jpg")
    path = write_yml(tmp_path / "feed.xml", "yml", rows)

    validation = validate_feed(path, "yml", expected_for(rows), published_photo_dir=photo_dir)

    assert failed(validation) == {("expect_column_values_to_be_null", "missing_pictures")}
    assert validation.failures[0].examples == ["offer '2': missing_pictures='https://demo.example/photos/detail/2_1.jpg'"]


def test_missing_torgsoft_photo_file(tmp_path: Path, photo_dir: Path) -> None:
    rows = offers()
    (photo_dir / "detail" / "3_0.jpg").unlink()
    path = write_torgsoft(tmp_path / "TSGoods.trs", rows)

    validation = validate_feed(path, "torgsoft_csv", expected_for(rows), "cp1251", published_photo_dir=photo_dir)

    assert failed(validation) == {("expect_column_values_to_be_null", "missing_pictures")}
    assert validation.failures[0].unexpected_count == 1


def test_torgsoft_without_warehouse_quantity(tmp_path: Path) -> None:
    rows = offers()
    header = [name for name in TORGSOFT_HEADER if name != "WarehouseQuantity"]
    path = write_torgsoft(tmp_path / "TSGoods.trs", rows, header=header)

    validation = validate_feed(path, "torgsoft_csv", expected_for(rows), "cp1251")

    assert failed(validation) == {("expect_table_columns_to_match_set", None)}
    assert validation.failures[0].examples == ["missing column: WarehouseQuantity"]


def test_torgsoft_read_with_the_wrong_encoding(tmp_path: Path) -> None:
    path = write_torgsoft(tmp_path / "TSGoods.trs", offers(), encoding="cp1251")

    validation = validate_feed(path, "torgsoft_csv", expected_for(offers()), "utf-8")

    assert [f.expectation for f in validation.failures] == ["shopsync_feed_is_readable"]


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = write_torgsoft(tmp_path / "TSGoods.trs", offers(), encoding="utf-8")
    with open(path, "a", encoding="utf-8") as stream:
        stream.write("4;Зайве\n")

    validation = validate_feed(path, "torgsoft_csv", expected_for(offers()), "utf-8")

    assert ("shopsync_rows_match_header", None) in failed(validation)


def test_offer_ids_not_equal_to_expected(tmp_path: Path) -> None:
    rows = offers()
    expected = pd.DataFrame({"good_id": [1, 2, 4, 5], "free_stock": [2, 2, 2, 2]})

    validation = validate_yml(tmp_path, rows, expected)

    assert failed(validation) == {("expect_column_values_to_be_null", "unexpected_offer_id"),
                                  ("expect_table_row_count_to_equal", None)}
    unexpected = next(f for f in validation.failures if f.column == "unexpected_offer_id")
    assert unexpected.examples == ["offer '3': unexpected_offer_id='3'"]
    count = next(f for f in validation.failures if f.column is None)
    assert count.examples == ["3 offers, 4 expected", "missing goods: 4, 5"]


def test_woo_sale_price_is_the_price(tmp_path: Path) -> None:
    rows = offers()
    rows[0]["old_price"] = "1000"          # regular 1000, sale 1250.50: the "sale" is dearer

    path = write_woo(tmp_path / "woo.csv", rows)
    validation = validate_feed(path, "woocommerce_csv", expected_for(rows))

    assert failed(validation) == {("expect_column_pair_values_a_to_be_greater_than_b", "old_price, price")}


def test_unknown_profile_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no feed validation for profile"):
        validate_feed(tmp_path / "x.csv", "customers_csv", expected_for([]))


# --- report --------------------------------------------------------------------------------------

def test_report_names_failures_counts_examples_and_excluded_goods(tmp_path: Path, ctx: FeedContext) -> None:
    rows = offers()
    rows[1]["price"] = "0"
    bad = validate_yml(tmp_path, rows)
    good_rows = offers()
    good = validate_feed(write_torgsoft(tmp_path / "TSGoods.trs", good_rows), "torgsoft_csv",
                         expected_for(good_rows), "cp1251")
    rejections = Rejections()
    split_batch(batch_from_items([item(good_id=7, name="Туфлі | <b>", price=Decimal(0))]), ctx, rejections)

    summary = write_report([bad, good], rejections, tmp_path / "reports" / "validation.md", title="demo")

    text = (tmp_path / "reports" / "validation.md").read_text(encoding="utf-8")
    assert "`expect_column_values_to_be_between`" in text
    assert "| prices are above 0 | price | 1 | offer '2': price=0 |" in text
    assert "**FAILED**" in text and "passed" in text
    assert "| 7 | Туфлі \\| &lt;b&gt; | price is 0 |" in text
    assert summary == summarize([bad, good], rejections)
    assert summary.startswith("2 feeds validated, 1 invalid; 1 goods excluded (price is 0 1)")
    assert "prices are above 0 [price]: 1 rows" in summary


def test_markdown_cell_escapes() -> None:
    assert markdown_cell("a|b\nc\x01<i>") == "a\\|b<br>c\\x01&lt;i&gt;"


# --- contract with the real feed writers ---------------------------------------------------------

def writer_items() -> list[CatalogItem]:
    items = []
    for good in range(1, 6):
        items.append(item(
            good_id=good, name=f"Чоботи {good}, «шкіра» & <хутро>", price=Decimal("1958.36") + good,
            old_price=Decimal("2500") if good % 2 else Decimal("10"), free_stock=good % 3,
            category_id=11 if good != 5 else 10, model_group_id=70 if good in (3, 4) else None,
            size="38" if good == 3 else "39", color="чорний",
            pictures=[f"https://demo.example/photos/detail/{good}_{p}.jpg" for p in range(2)],
            photo_names=[f"{good}_{p}.jpg" for p in range(2)],
        ))
    return items


@pytest.mark.parametrize(("profile", "encoding"), [
    ("yml", "utf-8"), ("prom_yml", "utf-8"), ("rozetka_yml", "utf-8"),
    ("torgsoft_csv", "cp1251"), ("torgsoft_csv", "utf-8-sig"), ("woocommerce_csv", "utf-8"),
])
def test_feeds_from_the_real_writers_pass(tmp_path: Path, ctx: FeedContext, profile: str, encoding: str) -> None:
    from shopsync.catalog.feeds import SORT_KEYS, get_writer
    from shopsync.core.config import FeedSettings

    photos = tmp_path / "photos"
    (photos / "detail").mkdir(parents=True)
    for good in range(1, 6):
        for position in range(2):
            (photos / "detail" / f"{good}_{position}.jpg").write_bytes(b"jpeg")
    writer = get_writer(profile)
    rows = sorted(writer_items(), key=SORT_KEYS[writer.sort_key])
    path = tmp_path / "feed"
    with open(path, "wb") as out:
        writer.write(rows, out, ctx, FeedSettings(profile=profile, encoding=encoding))
    expected = pd.DataFrame({"good_id": [i.good_id for i in rows], "free_stock": [i.free_stock for i in rows]})

    validation = validate_feed(path, profile, expected, encoding, published_photo_dir=photos)

    assert validation.failures == []
    assert validation.rows == 5

    (photos / "detail" / "4_0.jpg").unlink()         # WooCommerce variations carry only their first picture
    assert not validate_feed(path, profile, expected, encoding, published_photo_dir=photos).success


def test_missing_pictures_lists_only_the_absent_ones_per_offer(tmp_path: Path) -> None:
    from shopsync.catalog.validate import missing_pictures, published_photos

    (tmp_path / "detail").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "detail" / name).write_bytes(b"x")
    cells = pd.Series(["https://s/photos/detail/a.jpg|https://s/photos/detail/x.jpg", "", None, "b.jpg",
                       "x.jpg|y.jpg|a.jpg"])
    assert missing_pictures(cells, published_photos(tmp_path)) == [
        "https://s/photos/detail/x.jpg", None, None, None, "x.jpg|y.jpg"]
    assert missing_pictures(pd.Series(["a.jpg", None]), published_photos(tmp_path)) == [None, None]


# --- a large feed, validated in chunks -----------------------------------------------------------

def chunks_of(data: FeedData, size: int) -> list[FeedData]:
    frame = data.frame
    return [FeedData(frame.iloc[start:start + size].reset_index(drop=True), category_ids=data.category_ids)
            for start in range(0, len(frame), size)]


@pytest.mark.parametrize("profile", ["yml", "torgsoft_csv"])
def test_a_feed_validated_in_chunks_fails_exactly_as_whole(tmp_path: Path, photo_dir: Path, profile: str) -> None:
    rows = offers(9)
    rows[1]["price"] = "0"
    rows[7]["price"] = "0"                         # the same rule broken in two chunks: one failure, counts added
    rows[8]["id"] = "2"                            # a duplicate across chunks, and good 9 missing from the feed
    rows[4]["stock"] = "-1"
    rows[6]["pictures"] = ["https://demo.example/photos/detail/404_0.jpg"]
    del rows[5]                                    # 8 offers for 9 goods
    expected = expected_for(offers(9))
    expected.loc[expected.good_id == 4, "free_stock"] = 7
    path = write_yml(tmp_path / "feed.xml", profile, rows) if profile == "yml" else \
        write_torgsoft(tmp_path / "TSGoods.trs", rows, encoding="utf-8")
    whole = read_feed(path, profile)

    at_once = validate_feed(path, profile, expected, published_photo_dir=photo_dir, data=whole)
    in_chunks = validate_feed(path, profile, expected, published_photo_dir=photo_dir,
                              data=iter(chunks_of(read_feed(path, profile), 4)))

    assert in_chunks.failures == at_once.failures and in_chunks.rows == at_once.rows == 8
    assert {("expect_column_values_to_be_unique", "offer_id"), ("expect_table_row_count_to_equal", None),
            ("expect_column_values_to_be_between", "price"), ("expect_column_values_to_be_between", "stock"),
            ("expect_column_values_to_be_null", "missing_pictures"),
            ("expect_column_pair_values_to_be_equal", "stock, free_stock")} <= failed(in_chunks)
    price = next(f for f in in_chunks.failures if f.column == "price" and f.rule == "prices are above 0")
    assert price.unexpected_count == 2 and price.examples == ["offer '2': price=0", "offer '8': price=0"]
    unique = next(f for f in in_chunks.failures if f.expectation == "expect_column_values_to_be_unique")
    assert unique.examples == ["offer '2'", "offer '2'"]


def test_a_good_feed_in_chunks_passes(tmp_path: Path, photo_dir: Path) -> None:
    rows = offers(9)
    path = write_yml(tmp_path / "feed.xml", "rozetka_yml", rows)

    validation = validate_feed(path, "rozetka_yml", expected_for(rows), published_photo_dir=photo_dir,
                               data=chunks_of(read_feed(path, "rozetka_yml"), 2))

    assert validation.success and validation.rows == 9
