"""Small code helpers of the seed: EAN-13 barcodes, transliteration to ASCII, money formatting."""

from __future__ import annotations

import re

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
    # Russian letters absent from Ukrainian.
    "ё": "e", "ы": "y", "э": "e", "ъ": "",
}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def transliterate(text: str) -> str:
    """Lower-case ASCII rendering of Ukrainian or Russian text (simplified national system)."""
    return "".join(_CYRILLIC_TO_LATIN.get(char, char) for char in text.lower())


def slugify(text: str) -> str:
    """`Висота підборів` -> `vysota_pidboriv`: ASCII words joined by underscores."""
    return _NOT_SLUG.sub("_", transliterate(text)).strip("_")


def ean13_check_digit(first12: str) -> str:
    odd = sum(int(digit) for digit in first12[0::2])
    even = sum(int(digit) for digit in first12[1::2])
    return str((10 - (odd + 3 * even) % 10) % 10)


def ean13(prefix: str, number: int) -> str:
    """A valid EAN-13: `prefix` + `number` zero-padded to 12 digits + check digit."""
    body = f"{prefix}{number:0{12 - len(prefix)}d}"
    if len(body) != 12:
        raise ValueError(f"EAN-13 body must be 12 digits, got {body!r}")
    return body + ean13_check_digit(body)


def scatter(number: int, digits: int) -> int:
    """A bijection on [0, 10**digits): consecutive ids become unrelated-looking, still unique, codes."""
    modulus = 10**digits
    # 7_368_787 is coprime with 10, so multiplication modulo 10**digits is a permutation.
    return (number * 7_368_787 + 1_234_567) % modulus


def money(cents: int) -> str:
    """Text for a numeric(14, 2) column: 149900 -> '1499.00'."""
    return f"{cents // 100}.{cents % 100:02d}"
