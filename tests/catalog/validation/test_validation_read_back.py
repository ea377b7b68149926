"""Reading written feeds back: numbers as marketplaces write them."""

from __future__ import annotations

from shopsync.catalog.validation.read_back import parse_number


def test_parse_number_accepts_comma_decimals() -> None:
    assert parse_number("1 250,50") == 1250.5
    assert parse_number("7") == 7.0
    assert parse_number("") != parse_number("")      # NaN
    assert parse_number("abc") != parse_number("abc")
