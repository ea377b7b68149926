"""Order file parsers: bytes in, ParsedFile out (never a database).

    parse_order_file(data, file_name, fmt="auto") -> ParsedFile
        fmt: auto | torgsoft_json | prom | rozetka | woocommerce

UnreadableFile(reason) when the whole file is unusable (empty, too large, not text, unknown encoding,
broken JSON/XML, XML with a DOCTYPE, no known order shape, too many values); CutOffFile (a kind of
UnreadableFile) when it is empty or ends too early. Nothing else escapes for any input (property tests in
tests/orders/formats/test_formats_properties.py); an unexpected error while reading one order rejects that order.
Otherwise every order object in the file becomes an Order or a RejectedOrder (also one with a field over its
length limit, see limits.py), so one bad order never hides the good ones next to it.

Decisions:
- XML is accepted only in the Torgsoft layout (see xml_orders); such files report format "torgsoft_xml".
- An empty array ([] or {"orders": []}) is a readable file with no orders; its format is `fmt`, or "empty".
- With an explicit fmt, a file whose orders all have another recognisable shape is unreadable (wrong
  format configured for the shop), while single foreign-shaped orders are rejected one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopsync.orders.formats import prom, rozetka, torgsoft_json, woocommerce
from shopsync.orders.formats.decoding import MAX_FILE_BYTES, decode_order_bytes, load_json, looks_like_xml
from shopsync.orders.formats.detect import FORMAT_LABELS, NO_KNOWN_FORMAT, detect_shape, order_entries
from shopsync.orders.formats.limits import MAX_ORDER_NUMBER, cut_free_text, limit_problems
from shopsync.orders.formats.reader import FieldReader, kind_of
from shopsync.orders.formats.xml_orders import torgsoft_xml_entries
from shopsync.orders.model import Order, ParsedFile, RejectedOrder, UnreadableFile
from shopsync.runtime.memory import gc_paused

__all__ = ["FORMATS", "MAX_FILE_BYTES", "parse_order_entry", "parse_order_file"]

FORMATS = ("torgsoft_json", "prom", "rozetka", "woocommerce")
_LARGE_FILE_BYTES = 8 * 1024 * 1024

OrderParser = Callable[[FieldReader], Order]
_PARSERS: dict[str, OrderParser] = {
    "torgsoft_json": torgsoft_json.parse_order,
    "torgsoft_xml": lambda reader: torgsoft_json.parse_order(reader, source_format="torgsoft_xml"),
    "prom": prom.parse_order,
    "rozetka": rozetka.parse_order,
    "woocommerce": woocommerce.parse_order,
}


def parse_order_file(data: bytes, file_name: str, fmt: str = "auto") -> ParsedFile:
    """Parse one order file. `file_name` only sharpens the wording of reasons (e.g. for an .xlsx upload)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown order format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")
    text = decode_order_bytes(data, file_name)
    if looks_like_xml(text):
        if fmt not in ("auto", "torgsoft_json"):
            raise UnreadableFile(f"XML order files are accepted only in the Torgsoft layout, not for {_label(fmt)}")
        entries = torgsoft_xml_entries(text)
        return _parse_entries(entries, "torgsoft_xml", shapes=["torgsoft_xml"] * len(entries))
    with gc_paused(when=len(data) > _LARGE_FILE_BYTES):
        entries = order_entries(load_json(text))
        shapes = [detect_shape(entry) for entry in entries]
        return _parse_entries(entries, _file_format(entries, shapes, fmt), shapes)


def _file_format(entries: list[Any], shapes: list[str | None], fmt: str) -> str:
    recognised = [shape for shape in shapes if shape]
    if fmt == "auto":
        if recognised:
            return recognised[0]
        if not entries:
            return "empty"
        raise UnreadableFile(NO_KNOWN_FORMAT)
    if recognised and fmt not in recognised:
        raise UnreadableFile(f"expected {_label(fmt)} orders, but the file holds {_label(recognised[0])} orders")
    return fmt


def _parse_entries(entries: list[Any], file_format: str, shapes: list[str | None]) -> ParsedFile:
    parsed = ParsedFile(format=file_format, orders=[], rejected=[])
    for index, shape in enumerate(shapes):
        entry, entries[index] = entries[index], None  # the document's objects go as their orders are made
        result = _parse_entry(entry, shape, file_format, index + 1)
        if isinstance(result, Order):
            parsed.orders.append(result)
        else:
            parsed.rejected.append(result)
    return parsed


def _parse_entry(entry: Any, shape: str | None, file_format: str, position: int) -> Order | RejectedOrder:
    if not isinstance(entry, dict):
        return RejectedOrder(position, None, [f"this entry is not an order: it is {kind_of(entry)}"])
    if shape and shape != file_format:
        reason = (
            f"this order is in a different format ({_label(shape)}) "
            f"than the rest of the file ({_label(file_format)})"
        )
        return RejectedOrder(position, None, [reason])
    reader = FieldReader(entry)
    try:
        order = _PARSERS[file_format](reader)
    except Exception as error:  # noqa: BLE001 - one unexpected order must not lose the rest of the file
        said = f"{type(error).__name__}: {str(error)[:300]}".encode("utf-8", "replace").decode("utf-8")
        return RejectedOrder(position, None, [f"the order could not be read ({said})"])
    if reader.problems:
        return RejectedOrder(position, _shown_number(order.external_number), reader.problems)
    too_big = limit_problems(order)
    if too_big:
        return RejectedOrder(position, _shown_number(order.external_number), too_big)
    cut_free_text(order)
    return order


def parse_order_entry(entry: Any, fmt: str, position: int = 1) -> Order | RejectedOrder:
    """One order object of a known format (an order a channel's API returned), checked like a file's."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown order format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _parse_entry(entry, fmt, fmt, position)


def _shown_number(number: str) -> str | None:
    """The order number for a report; an absurdly long one is shortened (the reasons say how long it was)."""
    return (number if len(number) <= MAX_ORDER_NUMBER else number[: MAX_ORDER_NUMBER - 1] + "…") or None


def _label(fmt: str) -> str:
    return FORMAT_LABELS.get(fmt, fmt)
