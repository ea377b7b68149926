"""XML text as lxml writes it: the characters XML 1.0 cannot carry removed, and the escaping, for one string
(xml_text, escape_text) and for a whole Arrow column (clean_column, text_column, attribute_column).

One list of the illegal characters (ILLEGAL_RANGES) gives both the Python and the Arrow (RE2) pattern.
Most values need neither cleaning nor escaping: one regex pass over a column finds the rows that do; only
those are cleaned and escaped (pc.filter) and put back in place (pc.replace_with_mask).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

# Code points XML 1.0 cannot carry besides the surrogates: control characters other than TAB/LF/CR, U+FFFE/F.
ILLEGAL_RANGES = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0xFFFE, 0xFFFF))
SURROGATES = (0xD800, 0xDFFF)        # only in Python strings: Arrow strings are valid UTF-8
_XML_ILLEGAL = re.compile("[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in (*ILLEGAL_RANGES, SURROGATES))
                          + "]")
# lxml's (libxml2's) escaping, in the order to apply it ("&" first).
TEXT_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
ATTRIBUTE_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\t", "&#9;"),
                      ("\n", "&#10;"), ("\r", "&#13;"))
CDATA_END = "]]>"

_ILLEGAL_CLASS = "".join(rf"\x{{{first:04X}}}-\x{{{last:04X}}}" for first, last in ILLEGAL_RANGES)
XML_ILLEGAL_RE2 = f"[{_ILLEGAL_CLASS}]"
_TEXT_WORK = rf"[&<>\r{_ILLEGAL_CLASS}]"
_ATTRIBUTE_WORK = rf"[&<>\"\t\n\r{_ILLEGAL_CLASS}]"
CDATA_WORK = rf"[{_ILLEGAL_CLASS}]|\]\]>"


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 cannot carry."""
    # Fast path: a printable string has no control characters; the regex decides for the rest (TAB, LF, ...).
    return text if text.isprintable() else _XML_ILLEGAL.sub("", text)


def escape_text(text: str) -> str:
    """Element text as lxml writes it (`text` already cleaned by xml_text)."""
    for char, entity in TEXT_ENTITIES:
        text = text.replace(char, entity)
    return text


def rows_matching(values: pa.Array, pattern: str) -> pa.Array | None:
    """The mask of the rows matching (never null), None when there are none."""
    if len(values) == 0 or values.null_count == len(values):
        return None
    mask = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    return mask if pc.any(mask).as_py() else None


def clean_column(values: pa.Array) -> pa.Array:
    """xml_text over a string column."""
    mask = rows_matching(values, XML_ILLEGAL_RE2)
    if mask is None:
        return values
    cleaned = pc.replace_substring_regex(pc.filter(values, mask), XML_ILLEGAL_RE2, "")
    return pc.replace_with_mask(values, mask, cleaned)


def escape_all(values: pa.Array, entities: tuple[tuple[str, str], ...]) -> pa.Array:
    for char, entity in entities:
        values = pc.replace_substring(values, char, entity)
    return values


def _prepared(values: pa.Array, pattern: str, entities: tuple[tuple[str, str], ...]) -> pa.Array:
    """Cleaned (xml_text) and escaped, touching only the rows that need it."""
    mask = rows_matching(values, pattern)
    if mask is None:
        return values
    subset = escape_all(pc.replace_substring_regex(pc.filter(values, mask), XML_ILLEGAL_RE2, ""), entities)
    return pc.replace_with_mask(values, mask, subset)


def text_column(values: pa.Array) -> pa.Array:
    """Element text as lxml writes it: cleaned (xml_text), then & < > CR escaped."""
    return _prepared(values, _TEXT_WORK, TEXT_ENTITIES)


def attribute_column(values: pa.Array) -> pa.Array:
    """Attribute values as lxml writes them: cleaned (xml_text), then & < > " TAB LF CR escaped."""
    return _prepared(values, _ATTRIBUTE_WORK, ATTRIBUTE_ENTITIES)


