"""Small helpers shared by the order-format tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shopsync.orders.formats import parse_order_file
from shopsync.orders.model import Order, ParsedFile

SAMPLES = Path(__file__).parent / "samples"
CORPUS = Path(__file__).parents[1] / "corpus"


def parse_json(document: Any, fmt: str = "auto") -> ParsedFile:
    return parse_order_file(json.dumps(document, ensure_ascii=False).encode("utf-8"), "orders.json", fmt)


def parse_sample(name: str) -> ParsedFile:
    return parse_order_file((SAMPLES / name).read_bytes(), name)


def only_order(parsed: ParsedFile) -> Order:
    assert not parsed.rejected, parsed.rejected
    assert len(parsed.orders) == 1
    return parsed.orders[0]


def torgsoft_order(number: str = "1001", goods: list[dict[str, Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {
        "Client": {"Name": "Петренко Василь", "MPhone": "+380501112233", "Місто": "Київ"},
        "Options": {"OrderNumber": number, **options},
        "Goods": goods if goods is not None else [{"GoodID": "12", "Price": "450,00", "Count": "1"}],
    }
