"""Bytes -> text: encodings, binary data, size limit, line endings, JSON errors in plain words."""

from __future__ import annotations

import json

import pytest
from formats_helpers import only_order, torgsoft_order

from shopsync.orders.formats import MAX_FILE_BYTES, parse_order_file
from shopsync.orders.formats.decoding import decode_order_bytes, load_json
from shopsync.orders.model import UnreadableFile

CYRILLIC_ORDER = json.dumps([torgsoft_order("К-1", Comment="Під'їзд 2, дзвінок за годину — дякую! №5 «Ї» ґ")],
                            ensure_ascii=False)


@pytest.mark.parametrize(
    "data",
    [CYRILLIC_ORDER.encode("utf-8"), b"\xef\xbb\xbf" + CYRILLIC_ORDER.encode("utf-8"), CYRILLIC_ORDER.encode("cp1251")],
    ids=["utf-8", "utf-8 with BOM", "cp1251"],
)
def test_accepted_encodings_give_the_same_order(data: bytes):
    order = only_order(parse_order_file(data, "orders.json"))
    assert order.comment == "Під'їзд 2, дзвінок за годину — дякую! №5 «Ї» ґ"
    assert order.customer.city == "Київ"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b" \n\t\r\n ", "the file is empty: it holds only spaces or blank lines"),
        (CYRILLIC_ORDER.encode("utf-16"), "the file is in UTF-16 encoding"),
        (CYRILLIC_ORDER.encode("utf-16-le"), "the file is in UTF-16 encoding"),
        (CYRILLIC_ORDER.encode("utf-16-be"), "the file is in UTF-16 encoding"),
        (CYRILLIC_ORDER.encode("utf-32"), "the file is in UTF-32 encoding"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "this is not a text file (it looks like a PNG image)"),
        (b"%PDF-1.7\n\x00\x01\x02", "this is not a text file (it looks like a PDF document)"),
        (b"\x01\x02\x03\x04\x05 text", "this is not a text file"),
        (bytes(range(128, 256)), "the file's text encoding is not recognised"),
        (b'{"a": "\xa4\xa6\xa7\xa9\xac\xae\xb5\xb6"}', "the file's text encoding is not recognised"),
    ],
)
def test_unreadable_bytes(data: bytes, reason: str):
    with pytest.raises(UnreadableFile) as caught:
        parse_order_file(data, "orders.json")
    assert reason in str(caught.value)


def test_binary_named_like_a_spreadsheet():
    with pytest.raises(UnreadableFile, match="it looks like a spreadsheet"):
        parse_order_file(b"\x00\x01\x02garbage", "orders.xlsx")


def test_line_endings_are_normalised():
    assert decode_order_bytes(b'{"a":\r\n"b"\r}') == '{"a":\n"b"\n}'


def test_a_stray_control_character_in_utf8_text_is_tolerated():
    document = json.dumps(torgsoft_order(Comment="x")).replace('"x"', '"a\x07b"')
    order = only_order(parse_order_file(document.encode(), "orders.json"))
    assert order.comment == "ab"


def test_size_limit_is_checked_before_anything_else():
    too_big = bytes(MAX_FILE_BYTES + 1)  # NUL bytes: would be "not a text file" if it were ever looked at
    megabytes = MAX_FILE_BYTES // 2**20
    with pytest.raises(UnreadableFile, match=f"the file is too large: {megabytes} MB, the limit is {megabytes} MB"):
        parse_order_file(too_big, "orders.json")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"Client": {"Name": "Іван"}', "the file is cut off: JSON ends unexpectedly at line 1, column 28"),
        ('[\n{"Client":\n {"Name": "Іва', "the file is cut off: JSON ends unexpectedly at line 3, column 14"),
        ('[{"a": 1},\n', "the file is cut off: JSON ends unexpectedly at line 1, column 10"),
        ('{"a": 1 "b": 2}', "the file is not valid JSON: a comma is missing between values at line 1, column 9"),
        ('{"a": 1,}', "the file is not valid JSON: a field name is not in double quotes (or a comma is extra)"),
        ("{'a': 1}", "the file is not valid JSON: a field name is not in double quotes"),
        ('{"a": 1} x', "the file is not valid JSON: there is extra text after the end of the data at line 1, col"),
        ('{"a": tru}', "the file is not valid JSON: a value is missing or malformed at line 1, column 7"),
    ],
)
def test_json_errors_in_plain_words(text: str, reason: str):
    with pytest.raises(UnreadableFile) as caught:
        load_json(text)
    assert str(caught.value).startswith(reason)


def test_json_numbers_are_exact_and_nan_stays_text():
    document = load_json('{"a": 0.1, "b": 12, "c": NaN, "d": 1e400}')
    assert [str(document[key]) for key in "abcd"] == ["0.1", "12", "NaN", "1E+400"]


def test_deep_nesting_is_unreadable():
    with pytest.raises(UnreadableFile, match="nested too deeply"):
        load_json("[" * 50_000 + "]" * 50_000)


def test_duplicate_keys_with_different_values_reject_only_that_order():
    text = (
        '[{"Client": {"Name": "A", "Name": "A"}, "Options": {"OrderNumber": "1"},'
        ' "Goods": [{"GoodID": "1", "Price": "1", "Count": "1"}]},'
        ' {"Client": {"Name": "B"}, "Options": {"OrderNumber": "2", "OrderNumber": "3"},'
        ' "Goods": [{"GoodID": "1", "Price": "1", "Count": "1"}]}]'
    )
    parsed = parse_order_file(text.encode(), "orders.json")
    assert [order.external_number for order in parsed.orders] == ["1"]
    assert parsed.rejected[0].reasons == ["the field Options.OrderNumber is given twice with different values"]
