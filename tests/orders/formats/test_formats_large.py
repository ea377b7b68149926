"""A file of ~38k orders just under the size limit parses completely; a file over the limit is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shopsync.orders.formats import MAX_FILE_BYTES, parse_order_file
from shopsync.orders.model import UnreadableFile

ORDER_COUNT = 38_000


def _order(number: int) -> dict:
    return {
        "Client": {"Name": "Коваленко Олена Петрівна", "MPhone": "+38 (067) 123-45-67", "Місто": "Київ",
                   "Address": "вул. Велика Васильківська, 72", "EMail": f"olena{number}@example.com"},
        "Options": {"OrderNumber": f"BIG-{number}", "OrderDate": "2024-05-15 10:00:00",
                    "DeliveryAddress": f"Відділення №{number % 400 + 1}", "Comment": "Передзвоніть, будь ласка"},
        "Goods": [{"GoodID": str(number % 300 + 1), "Price": "1958,36", "Count": "1"},
                  {"GoodID": "17", "Price": "450", "Count": "2"}],
    }


@pytest.mark.slow
def test_a_file_just_under_the_size_limit_parses_every_order(tmp_path: Path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([_order(n) for n in range(ORDER_COUNT)], ensure_ascii=False), encoding="utf-8")
    data = path.read_bytes()
    assert MAX_FILE_BYTES * 0.9 < len(data) < MAX_FILE_BYTES

    started = time.perf_counter()
    parsed = parse_order_file(data, path.name)
    elapsed = time.perf_counter() - started

    assert len(parsed.orders) == ORDER_COUNT
    assert parsed.rejected == []
    assert parsed.orders[-1].external_number == f"BIG-{ORDER_COUNT - 1}"
    assert parsed.orders[-1].lines[0].good_id == (ORDER_COUNT - 1) % 300 + 1
    assert elapsed < 120, f"parsing took {elapsed:.1f} s"  # generous: CI machines are shared


def test_file_over_the_limit_is_refused_by_its_length_alone(monkeypatch: pytest.MonkeyPatch):
    def never(*_args, **_kwargs):
        raise AssertionError("an oversized file must not be decoded or parsed")

    monkeypatch.setattr("shopsync.orders.formats.decoding.load_json", never)
    monkeypatch.setattr("shopsync.orders.formats.load_json", never)
    monkeypatch.setattr("shopsync.orders.formats.decoding._is_valid_utf8", never)
    data = b"[" + b" " * MAX_FILE_BYTES + b"]"
    started = time.perf_counter()
    with pytest.raises(UnreadableFile, match="the file is too large"):
        parse_order_file(data, "huge.json")
    assert time.perf_counter() - started < 1
