"""woocommerce_csv: simple / variable / variation rows, parsed back with the csv module."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from test_feeds_base import CATEGORIES, make_ctx, make_item, write_feed

from shopsync.catalog.feeds.woocommerce_csv import BASE_COLUMNS, WooCommerceCsvWriter, model_name
from shopsync.catalog.model import Category, Characteristic
from shopsync.core.config import FeedSettings


def records(data: bytes) -> list[dict[str, str]]:
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return [dict(zip(header, row, strict=True)) for row in rows]


def attributes(row: dict[str, str]) -> list[tuple[str, str, str, str]]:
    found = []
    number = 1
    while f"Attribute {number} name" in row:
        if row[f"Attribute {number} name"]:
            found.append(tuple(row[f"Attribute {number} {part}"] for part in ("name", "value(s)", "visible", "global")))
        number += 1
    return found


def group_items() -> list:
    return [
        make_item(11, name="Туфлі Ліра чорний 37", size="37", color="чорний", model_group_id=5, free_stock=0),
        make_item(12, name="Туфлі Ліра чорний 38", size="38", color="чорний", model_group_id=5,
                  old_price=Decimal("2500")),
        make_item(13, name="Туфлі Ліра червоний 38", size="38", color="червоний", model_group_id=5, visible=False,
                  pictures=["https://shop.example/13_1.jpg", "https://shop.example/13_2.jpg"]),
    ]


def test_header_has_base_columns_then_attribute_groups() -> None:
    header = WooCommerceCsvWriter(max_attributes=2).header()
    assert header == [*BASE_COLUMNS, "Attribute 1 name", "Attribute 1 value(s)", "Attribute 1 visible",
                      "Attribute 1 global", "Attribute 2 name", "Attribute 2 value(s)", "Attribute 2 visible",
                      "Attribute 2 global"]
    assert {"SKU", "Name", "Regular price", "Sale price", "Stock", "Categories", "Images",
            "Meta: _shopsync_good_id"} <= set(header)
    assert len(WooCommerceCsvWriter().header()) == len(BASE_COLUMNS) + 4 * 40


def test_simple_product_row() -> None:
    item = make_item(1, old_price=Decimal("2448"), free_stock=4, category_id=2,
                     pictures=["https://shop.example/1_1.jpg", "https://shop.example/1_2.jpg"])
    data, stats = write_feed("woocommerce_csv", [item])
    (row,) = records(data)
    assert {key: value for key, value in row.items() if not key.startswith("Attribute")} == {
        "Type": "simple", "SKU": "good-1", "Name": "Туфлі жіночі 1", "Published": "1", "Short description": "",
        "Description": "<p>Шкіряні туфлі</p>", "Regular price": "2448.00", "Sale price": "1958.36",
        "In stock?": "1", "Stock": "4", "Categories": "Взуття > Балетки",
        "Images": "https://shop.example/1_1.jpg, https://shop.example/1_2.jpg", "Parent": "",
        "Meta: _shopsync_good_id": "1",
    }
    assert attributes(row) == [("Колір", "чорний", "1", "0"), ("Висота підборів", "7", "1", "0")]
    assert (stats.rows, stats.bytes) == (1, len(data))


def test_without_promo_sale_price_is_empty() -> None:
    for old_price in (None, Decimal("1958.36"), Decimal(10)):
        (row,) = records(write_feed("woocommerce_csv", [make_item(1, old_price=old_price)])[0])
        assert (row["Regular price"], row["Sale price"]) == ("1958.36", "")


def test_out_of_stock_and_invisible_items() -> None:
    data, _ = write_feed("woocommerce_csv", [make_item(1, free_stock=0), make_item(2, visible=False)])
    first, second = records(data)
    assert (first["In stock?"], first["Stock"], first["Published"]) == ("0", "0", "1")
    assert second["Published"] == "0"


def test_model_group_becomes_variable_parent_and_variations() -> None:
    data, stats = write_feed("woocommerce_csv", group_items())
    parent, *variations = records(data)
    assert (parent["Type"], parent["SKU"], parent["Name"], parent["Published"]) == \
        ("variable", "model-5", "Туфлі Ліра", "1")
    assert (parent["Regular price"], parent["Stock"], parent["In stock?"], parent["Meta: _shopsync_good_id"]) == \
        ("", "", "1", "")
    assert parent["Categories"] == "Взуття > Балетки"
    assert attributes(parent) == [("Розмір", "37, 38", "1", "0"), ("Колір", "чорний, червоний", "1", "0"),
                                  ("Висота підборів", "7", "1", "0")]
    assert [(v["Type"], v["SKU"], v["Parent"], v["Meta: _shopsync_good_id"]) for v in variations] == [
        ("variation", "good-11", "model-5", "11"), ("variation", "good-12", "model-5", "12"),
        ("variation", "good-13", "model-5", "13")]
    assert [attributes(v) for v in variations] == [
        [("Розмір", "37", "1", "0"), ("Колір", "чорний", "1", "0")],
        [("Розмір", "38", "1", "0"), ("Колір", "чорний", "1", "0")],
        [("Розмір", "38", "1", "0"), ("Колір", "червоний", "1", "0")]]
    assert [(v["Regular price"], v["Sale price"], v["Stock"], v["In stock?"], v["Published"]) for v in variations] == [
        ("1958.36", "", "0", "0", "1"), ("2500.00", "1958.36", "3", "1", "1"), ("1958.36", "", "3", "1", "0")]
    assert variations[2]["Images"] == "https://shop.example/13_1.jpg"
    assert variations[0]["Categories"] == ""
    assert stats.rows == 4


def test_parent_of_a_fully_hidden_group_is_not_published() -> None:
    items = [make_item(1, model_group_id=3, size="37", visible=False)]
    parent, _variation = records(write_feed("woocommerce_csv", items)[0])
    assert (parent["Published"], parent["In stock?"]) == ("0", "0")


def test_single_item_group_is_still_variable() -> None:
    parent, variation = records(write_feed("woocommerce_csv", [make_item(1, model_group_id=3, size="37")])[0])
    assert (parent["Type"], variation["Type"], variation["SKU"]) == ("variable", "variation", "good-1")
    assert attributes(parent)[0] == ("Розмір", "37", "1", "0")


def test_simple_items_and_groups_in_model_group_order() -> None:
    rows = [make_item(2), make_item(9), *group_items()]
    data, _ = write_feed("woocommerce_csv", rows)
    assert [(r["Type"], r["SKU"]) for r in records(data)] == [
        ("simple", "good-2"), ("simple", "good-9"), ("variable", "model-5"), ("variation", "good-11"),
        ("variation", "good-12"), ("variation", "good-13")]


def test_group_split_by_other_rows_is_an_error() -> None:
    rows = [make_item(1, model_group_id=5), make_item(2, model_group_id=6), make_item(3, model_group_id=5)]
    with pytest.raises(ValueError, match="model group 5 appears twice.*sort_key 'model_group'"):
        write_feed("woocommerce_csv", rows)


def test_group_interrupted_by_item_without_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="model group 5 appears twice"):
        write_feed("woocommerce_csv", [make_item(1, model_group_id=5), make_item(2), make_item(3, model_group_id=5)])


def test_attributes_beyond_the_limit_are_left_out_and_counted() -> None:
    item = make_item(1, characteristics=[Characteristic(f"Х{n}", str(n), None, f"x{n}") for n in range(5)])
    out = io.BytesIO()
    stats = WooCommerceCsvWriter(max_attributes=3).write([item], out, make_ctx(),
                                                         FeedSettings(profile="woocommerce_csv"))
    (row,) = records(out.getvalue())
    assert [a[0] for a in attributes(row)] == ["Х0", "Х1", "Х2"]
    assert stats.truncated == 2


def test_repeated_characteristic_names_become_one_attribute() -> None:
    item = make_item(1, characteristics=[Characteristic("Склад", "бавовна", None, "s"),
                                         Characteristic("Склад", "еластан", None, "s")])
    (row,) = records(write_feed("woocommerce_csv", [item])[0])
    assert attributes(row) == [("Склад", "бавовна, еластан", "1", "0")]


def test_commas_and_level_separators_are_escaped_in_list_cells() -> None:
    categories = {**CATEGORIES, 5: Category(5, None, "Сумки, гаманці", None, ("Сумки, гаманці", "A>B"))}
    item = make_item(1, category_id=5, characteristics=[Characteristic("Склад", "бавовна, 5%", None, "s")])
    (row,) = records(write_feed("woocommerce_csv", [item], ctx=make_ctx(categories=categories))[0])
    assert row["Categories"] == "Сумки\\, гаманці > A›B"
    assert attributes(row) == [("Склад", "бавовна\\, 5%", "1", "0")]


def test_text_is_not_altered_for_spreadsheets() -> None:
    (row,) = records(write_feed("woocommerce_csv", [make_item(1, name="=Туфлі", description="-знижка")])[0])
    assert (row["Name"], row["Description"]) == ("=Туфлі", "-знижка")


def test_crlf_and_encoding_settings() -> None:
    data, _ = write_feed("woocommerce_csv", [make_item(1)], encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbfType,SKU,Name,")
    assert data.count(b"\r\n") == 2
    headless, _ = write_feed("woocommerce_csv", [make_item(1)], header=False)
    assert headless.startswith(b"simple,good-1,")


def test_output_is_deterministic() -> None:
    rows = [make_item(1), *group_items()]
    assert write_feed("woocommerce_csv", rows)[0] == write_feed("woocommerce_csv", iter(rows))[0]


@pytest.mark.parametrize(("name", "size", "color", "expected"), [
    ("Туфлі Ліра чорний 38", "38", "чорний", "Туфлі Ліра"),
    ("Сукня літня, червоний, M", "M", "червоний", "Сукня літня"),
    ("Кросівки 38 Nike чорний", "38", "Чорний", "Кросівки Nike"),
    ("Футболка XL/XXL біла", "XL/XXL", None, "Футболка біла"),
    ("Туфлі 380", "38", None, "Туфлі 380"),
    ("38", "38", None, "38"),
    ("Шапка", None, None, "Шапка"),
])
def test_model_name_drops_size_and_colour(name: str, size: str | None, color: str | None, expected: str) -> None:
    assert model_name(make_item(1, name=name, size=size, color=color)) == expected


@pytest.mark.parametrize(("name", "size", "color", "expected"), [
    ("Туфли Ліра AB123 (пудровый, 38)", "38", "пудровий", "Туфли Ліра AB123"),       # Russian name, Ukrainian colour
    ("Туфлі Ліра AB123 (пудровий, 38)", "38", "пудровий", "Туфлі Ліра AB123"),
    ("Sneakers Adidas X1 (black, 42)", "42", "чорний", "Sneakers Adidas X1"),       # Latin name, Ukrainian colour
    ("Куртка Columbia [XL / чорний]", "XL", "чорний", "Куртка Columbia"),
    ("Сукня (бавовна) синя 42", "42", "синя", "Сукня (бавовна)"),                   # not a variant bracket: kept
    ("Платье (хлопок) (синее, M)", "M", "синій", "Платье (хлопок)"),
    ("Кросівки Puma (42-43)", "42-43", None, "Кросівки Puma"),
    ("Шапка One Size", "One Size", None, "Шапка"),
    ("Носки (білий)", None, None, "Носки (білий)"),
])
def test_model_name_leaves_no_variant_leftovers_in_any_language(name: str, size: str | None, color: str | None,
                                                                 expected: str) -> None:
    assert model_name(make_item(1, name=name, size=size, color=color)) == expected


WORDS = st.text(alphabet=st.sampled_from("абвгґдеєжзиіїйклмнопрстуфхцчшщьюяыэъabcdefxyzABC0123"), min_size=2,
                max_size=8)


@given(base=st.lists(WORDS, min_size=1, max_size=4), colour_shown=WORDS, colour_field=WORDS,
       size=st.sampled_from(["36", "38.5", "XL", "M", "42-43", "One Size", "120 см"]))
def test_model_name_drops_a_variant_bracket_whatever_its_words(base: list[str], colour_shown: str,
                                                              colour_field: str, size: str) -> None:
    """The colour in the name may be in another language than the colour field: the bracket holding the size
    goes whole, and nothing like '(x, )' or '()' is left."""
    stem = " ".join(base)
    assume(not {colour_field.lower(), *size.lower().split()} & {word.lower() for word in base})   # the model's words
    name = f"{stem} ({colour_shown}, {size})"
    cleaned = model_name(make_item(1, name=name, size=size, color=colour_field))
    assert cleaned == stem
    assert "()" not in cleaned and ", )" not in cleaned and not cleaned.endswith((",", "(", "/"))


def test_the_parent_is_named_by_its_model_group_when_the_database_has_a_name() -> None:
    rows = [make_item(1, name="Туфли Ліра (пудровый, 38)", size="38", model_group_id=5,
                      model_group_name="Туфлі Ліра AB123"),
            make_item(2, name="Туфли Ліра (пудровый, 39)", size="39", model_group_id=5,
                      model_group_name="Туфлі Ліра AB123")]
    parsed = list(csv.DictReader(io.StringIO(write_feed("woocommerce_csv", rows)[0].decode("utf-8"))))
    assert [(row["Type"], row["Name"]) for row in parsed] == [
        ("variable", "Туфлі Ліра AB123"), ("variation", "Туфли Ліра (пудровый, 38)"),
        ("variation", "Туфли Ліра (пудровый, 39)")]
