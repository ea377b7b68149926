"""The GX suite on written feeds read back (feeds made here in the writers' contract shape), in one piece and
in chunks, and the real writers' feeds against it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from validation_feeds import (
    TORGSOFT_HEADER,
    expected_for,
    failed,
    item,
    offers,
    validate_yml,
    write_feed,
    write_torgsoft,
    write_woo,
    write_yml,
)

from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.catalog.validation.read_back import FeedData, read_feed
from shopsync.catalog.validation.results import validate_feed

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
    rows = sorted(writer_items(), key=SORT_KEYS[writer.shape.order])
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
    from shopsync.catalog.validation.checks import missing_pictures, published_photos

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
