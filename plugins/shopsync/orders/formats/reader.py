"""Typed, forgiving access to one order's JSON object that collects what is wrong instead of failing.

A value of the wrong kind (an object or list where text is expected, text where goods are expected) is a
reason to reject the ORDER; the reason names the field, e.g. "the field Goods[2].Count should be text or a
number, not an object". All readers of one order share a single list of such reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from shopsync.orders.formats.decoding import DuplicateKeyObject
from shopsync.orders.formats.values import (
    clean_text,
    fold_key,
    parse_datetime,
    parse_decimal,
    shorten,
    show_decimal,
    within_limits,
)


@lru_cache(maxsize=4096)
def _loose_match(field_names: tuple[str, ...], wanted: tuple[str, ...]) -> str | None:
    """Orders of one file share their field names, so a loose match is worked out once per set of names."""
    folded = {fold_key(name): name for name in field_names}
    return next((folded[fold_key(key)] for key in wanted if fold_key(key) in folded), None)


@dataclass(frozen=True, slots=True)
class NumberField:
    """A numeric field as sent: `text` for messages (None when absent) and `value` (None when not a number)."""

    text: str | None
    value: Decimal | None

    @property
    def missing(self) -> bool:
        return self.text is None


def kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "empty (null)"
    return "a number"


class FieldReader:
    def __init__(self, raw: Mapping[str, Any], path: str = "", problems: list[str] | None = None) -> None:
        self.raw = raw
        self.path = path
        self.problems: list[str] = [] if problems is None else problems
        if isinstance(raw, DuplicateKeyObject):
            for key in raw.conflicting_keys:
                self.problem(f"the field {self._name(key)} is given twice with different values")

    def problem(self, reason: str) -> None:
        reason = reason.encode("utf-8", "replace").decode("utf-8")   # a field name may hold a lone surrogate
        if reason not in self.problems:
            self.problems.append(reason)

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _key(self, *keys: str) -> str | None:
        """The first of `keys` present (exact spelling first, then loosely: case, '_', look-alike letters)."""
        for key in keys:
            if key in self.raw:
                return key
        return _loose_match(tuple(self.raw), keys)

    def value(self, *keys: str) -> Any:
        key = self._key(*keys)
        return None if key is None else self.raw[key]

    def text(self, *keys: str) -> str | None:
        """Cleaned text; numbers are accepted and written as sent; empty -> None."""
        value = self.raw.get(keys[0])
        if value.__class__ is str:  # the common case, kept fast for 100k-order files
            return (value.strip() if value.isprintable() else clean_text(value)) or None
        key = self._key(*keys)
        if key is None:
            return None
        value = self.raw[key]
        if isinstance(value, str):
            return clean_text(value) or None
        if isinstance(value, Decimal):
            return show_decimal(value)
        if value is None:
            return None
        self.problem(f"the field {self._name(key)} should be text, not {kind_of(value)}")
        return None

    def number(self, *keys: str) -> NumberField:
        value = self.raw.get(keys[0])
        if value is None:
            key = self._key(*keys)
            value = None if key is None else self.raw[key]
        else:
            key = keys[0]
        if isinstance(value, Decimal):
            return NumberField(show_decimal(value), value if within_limits(value) else None)
        if isinstance(value, str):
            text = clean_text(value)
            return NumberField(text, parse_decimal(text)) if text else NumberField(None, None)
        if value is not None:
            self.problem(f"the field {self._name(key)} should be text or a number, not {kind_of(value)}")
        return NumberField(None, None)

    def flag(self, *keys: str) -> bool:
        """true/false, also as "1"/"0"/"yes"/"true" text; anything else is false."""
        value = self.value(*keys)
        if isinstance(value, bool):
            return value
        if isinstance(value, Decimal):
            return value == 1
        return isinstance(value, str) and value.strip().casefold() in {"1", "true", "yes", "так", "да"}

    def child(self, *keys: str) -> FieldReader:
        """The nested object (an empty one when absent); text or a list there is a problem."""
        key = self._key(*keys)
        value = None if key is None else self.raw[key]
        if isinstance(value, Mapping):
            return FieldReader(value, self._name(key), self.problems)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            self.problem(f"the field {self._name(key)} should be an object, not {kind_of(value)}")
        return FieldReader({}, self._name(keys[0]), self.problems)

    def entries(self, key: str, what: str) -> list[FieldReader] | None:
        """Readers for a list of objects (e.g. goods); None when the list is absent or of the wrong kind."""
        found = self._key(key)
        value = None if found is None else self.raw[found]
        if value is None:
            return None
        if isinstance(value, Mapping):
            value = [value]  # one good written as an object instead of a one-element list
        if not isinstance(value, list):
            self.problem(f"the field {self._name(found)} should be a list of {what}, not {kind_of(value)}")
            return None
        readers = []
        for index, item in enumerate(value, start=1):
            name = f"{self._name(found)}[{index}]"
            if isinstance(item, Mapping):
                readers.append(FieldReader(item, name, self.problems))
            else:
                self.problem(f"the entry {name} should be an object describing one of the {what}, not {kind_of(item)}")
        return readers

    def require_goods(self, lines: list[Any], key: str) -> None:
        """'the order has no goods' unless the goods field was already reported as being of the wrong kind."""
        if not lines and isinstance(self.value(key), list | Mapping | None):
            self.problem("the order has no goods")

    def text_or_name(self, *keys: str) -> str | None:
        """Text, or the `name`/`title` inside an object (Rozetka sends the city either way)."""
        value = self.value(*keys)
        if isinstance(value, Mapping):
            return self.child(*keys).text("name", "title", "name_ua", "city_name")
        return self.text(*keys)


def read_order_date(reader: FieldReader, key: str, warnings: list[str], expected: str) -> datetime | None:
    """The order date; a value that is not a date is a warning (the order still lands, without a date)."""
    text = reader.text(key)
    if text is None:
        return None
    parsed = parse_datetime(text)
    if parsed is None:
        warnings.append(f"order date '{shorten(text)}' is not a date (expected {expected}); left empty")
    return parsed
