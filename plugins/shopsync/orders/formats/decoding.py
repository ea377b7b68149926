"""Bytes -> text -> document: the checks that decide whether a file is readable at all.

Accepted encodings: UTF-8 (with or without BOM) and Windows-1251. Anything else (UTF-16, binary data,
an unknown 8-bit code page) is refused with a reason a shop manager can act on.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from shopsync.orders.model import CutOffFile, UnreadableFile

# Bounds that keep the ingest of any one file under 300 MB of memory whatever it holds (docs/decisions.md,
# "Order files: limits"): the size, checked before anything is read or decoded, and the number of JSON
# values, counted on the bytes before they are parsed (a value costs up to ~150 bytes as Python objects).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_JSON_VALUES = 1_000_000
# A JSON number literal longer than this is kept as its text (later "not a number"), never converted.
MAX_NUMBER_CHARS = 40

# C0 controls other than tab, LF, CR; plus DEL. Their presence means binary data, not text.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)

_MAGIC_DESCRIPTIONS = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an Excel/Word document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Word document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
)
_UTF16_32_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_CYRILLIC_OR_TYPOGRAPHY = re.compile(r"[\u0400-\u04ff№«»–—‘’“”„…•°±·€™]")

_JSON_WORDS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
_JSON_MESSAGES = {
    "Expecting value": "a value is missing or malformed",
    "Expecting ',' delimiter": "a comma is missing between values",
    "Expecting ':' delimiter": "a colon is missing after a field name",
    "Expecting property name enclosed in double quotes": "a field name is not in double quotes (or a comma is extra)",
    "Extra data": "there is extra text after the end of the data",
    "Invalid \\escape": "a text value has a broken backslash escape",
    "Invalid \\uXXXX escape": "a text value has a broken \\u escape",
    "Invalid control character at": "a text value contains a control character",
}


def decode_order_bytes(data: bytes, file_name: str = "") -> str:
    """The file's text with line endings normalised to LF, or UnreadableFile saying why there is none."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"the file is too large: {len(data) / 1024 / 1024:.0f} MB, the limit is {MAX_FILE_BYTES // 1024 // 1024} MB"
        )
    if not data:
        raise CutOffFile("the file is empty (0 bytes)")
    _refuse_wide_unicode(data)
    if b"\x00" in data:
        raise UnreadableFile(_not_text_reason(data, file_name))
    text = _decode_utf8(data, file_name) if _is_valid_utf8(data) else _decode_cp1251(data, file_name)
    if not text.strip():
        raise UnreadableFile("the file is empty: it holds only spaces or blank lines")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _refuse_wide_unicode(data: bytes) -> None:
    for bom, name in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise UnreadableFile(f"the file is in {name} encoding; save it as UTF-8 (or Windows-1251) and send again")


def _not_text_reason(data: bytes, file_name: str) -> str:
    head = data[:4096]
    odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
    half = len(head) // 2
    if half and (odd_nuls > half * 0.3 and even_nuls == 0 or even_nuls > half * 0.3 and odd_nuls == 0):
        return "the file is in UTF-16 encoding; save it as UTF-8 (or Windows-1251) and send again"
    return "this is not a text file" + _what_binary_looks_like(data, file_name)


def _what_binary_looks_like(data: bytes, file_name: str) -> str:
    for magic, description in _MAGIC_DESCRIPTIONS:
        if data.startswith(magic):
            return f" (it looks like {description})"
    if file_name.lower().endswith((".xls", ".xlsx", ".ods")):
        return " (it looks like a spreadsheet; export the orders as JSON)"
    return ""


def _is_valid_utf8(data: bytes) -> bool:
    """UTF-8 throughout; CutOffFile when it would be but for a character cut in two at the very end."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and error.start >= len(data) - 3 and error.start > 0:
            raise CutOffFile("the file is cut off: it ends in the middle of a character") from None
        return False
    return True


def _control_byte_count(data: bytes) -> int:
    return len(data.translate(None, _NOT_CONTROL_BYTES))


def _decode_utf8(data: bytes, file_name: str) -> str:
    # A stray control character in a comment is tolerated; many of them mean binary data that happens to be UTF-8.
    if _control_byte_count(data) > 2 + len(data) // 1000:
        raise UnreadableFile("this is not a text file" + _what_binary_looks_like(data, file_name))
    return data.decode("utf-8-sig")


def _decode_cp1251(data: bytes, file_name: str) -> str:
    if _control_byte_count(data):
        raise UnreadableFile("this is not a text file" + _what_binary_looks_like(data, file_name))
    unknown = "the file's text encoding is not recognised: save it as UTF-8 (or Windows-1251) and send again"
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        raise UnreadableFile(unknown) from None
    non_ascii = [ch for ch in text if ord(ch) > 127]
    cyrillic = sum(1 for ch in non_ascii if _CYRILLIC_OR_TYPOGRAPHY.match(ch))
    if cyrillic < len(non_ascii) * 0.8:
        raise UnreadableFile(unknown)
    return text


def looks_like_xml(text: str) -> bool:
    return text.lstrip("\ufeff \t\n").startswith("<")


class DuplicateKeyObject(dict):
    """A JSON object that remembers fields given twice with different values (the last one is kept)."""

    __slots__ = ("conflicting_keys",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.conflicting_keys: list[str] = []
        if len(self) != len(pairs):
            first_seen: dict[str, Any] = {}
            for key, value in pairs:
                if key in first_seen and first_seen[key] != value and key not in self.conflicting_keys:
                    self.conflicting_keys.append(key)
                first_seen.setdefault(key, value)


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    plain = dict(pairs)
    return plain if len(plain) == len(pairs) else DuplicateKeyObject(pairs)


def _bounded_number(literal: str) -> Decimal | str:
    """A JSON number as Decimal; an absurdly long literal stays text (the order reports it, nothing converts it)."""
    return Decimal(literal) if len(literal) <= MAX_NUMBER_CHARS else literal


def json_value_bound(text: str) -> int:
    """At least the number of values in a JSON text: every value but the first follows a ',' '[' or '{'."""
    return text.count(",") + text.count("[") + text.count("{") + 1


def load_json(text: str) -> Any:
    """Parse JSON exactly (numbers become Decimal, NaN/Infinity stay text) or raise UnreadableFile."""
    values = json_value_bound(text)
    if values > MAX_JSON_VALUES:
        raise UnreadableFile(
            f"the file holds too many values to be read safely (up to {values:,}, the limit is {MAX_JSON_VALUES:,}): "
            "send the orders in smaller files"
        )
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_from_pairs,
            parse_float=_bounded_number,
            parse_int=_bounded_number,
            parse_constant=str,
            strict=False,
        )
    except json.JSONDecodeError as error:
        raise UnreadableFile(_json_error_reason(text, error)) from None
    except ValueError as error:  # e.g. a text value with a lone surrogate escape Python cannot build
        raise UnreadableFile(f"the file is not valid JSON: {str(error)[:200]}") from None
    except RecursionError:
        raise UnreadableFile("the file is nested too deeply to be an order file") from None


def _json_error_reason(text: str, error: json.JSONDecodeError) -> str:
    """The reason for a syntax error; CutOffFile when the text simply ends too early."""
    content_end = len(text.rstrip())
    # also cut inside a \uXXXX escape or a word (tru, nul): the "broken" value is the last few characters
    rest = text[error.pos:content_end]
    cut_in_value = len(rest) < 9 and (
        error.msg.startswith("Invalid \\uXXXX escape")
        or error.msg.startswith("Expecting value") and any(word.startswith(rest) for word in _JSON_WORDS))
    runs_to_end = error.pos >= content_end or error.msg.startswith("Unterminated string") or cut_in_value
    if runs_to_end:
        line = text.count("\n", 0, content_end) + 1
        column = content_end - text.rfind("\n", 0, content_end) - 1  # the column of the last character
        raise CutOffFile(f"the file is cut off: JSON ends unexpectedly at line {line}, column {column}")
    explanation = next((words for prefix, words in _JSON_MESSAGES.items() if error.msg.startswith(prefix)), error.msg)
    return f"the file is not valid JSON: {explanation} at line {error.lineno}, column {error.colno}"
