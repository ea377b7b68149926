"""torgsoft_csv (TSGoods.trs): parsed back with the csv module and checked value by value."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from test_feeds_base import full_item, make_item, write_feed

from shopsync.catalog.feeds.torgsoft_csv import DEFAULT_COLUMNS
from shopsync.catalog.model import Characteristic


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
