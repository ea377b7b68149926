"""Conversions shared by the order formats: text cleaning, numbers, dates, good ids, payment and branch hints."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from shopsync.orders.model import PaymentStatus

MAX_GOOD_ID = 2**31 - 1  # goods.id is a PostgreSQL integer
# Numbers are parsed with limits: at most this many characters, and a magnitude of at most 10^20 (money and
# quantities are numeric(14, x)); anything beyond is "out of range", never converted or printed in full.
MAX_NUMBER_CHARS = 40
MAX_NUMBER_EXPONENT = 20

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LONE_SURROGATES = re.compile(r"[\ud800-\udfff]")
_NUMBER_SHAPE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_CURRENCY_SUFFIX = re.compile(r"\s*(грн\.?|uah|₴)\s*$", re.IGNORECASE)
_GROUPING_SPACES = re.compile(r"[ \u00a0\u202f\u2009']")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,6})?", re.ASCII)
_SIMPLE_NUMBER = re.compile(r"-?\d{1,20}(?:[.,]\d{1,20})?", re.ASCII)
_POSITIVE_INTEGER = re.compile(r"0*[1-9]\d{0,9}", re.ASCII)

# Cyrillic letters that look like Latin ones, so "Місто" typed with a Latin "i" or "M" still matches.
_HOMOGLYPHS = str.maketrans("аеіорсхуктмнвї", "aeiopcxyktmhbi")
_KEY_PUNCTUATION = re.compile(r"[\s_\-.]")

_BRANCH_WORDS = re.compile(
    r"відділенн|віділенн|отделени|поштомат|почтомат|пункт видачі|пункт выдачи|№\s*\d|#\s*\d",
    re.IGNORECASE,
)
_CASH_ON_DELIVERY = re.compile(
    r"наложен|післяплат|пiсляплат|післяоплат|при отриманн|під час отриманн|при получени|cash.?on.?delivery|^cod$",
    re.IGNORECASE,
)
_CANCELLED_STATUSES = {"cancelled", "canceled", "refunded", "failed", "trash"}

_DATETIME_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M")
_DATE_FORMATS = ("%d%m%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y")


def clean_text(value: str) -> str:
    """Strip; drop control characters except tab and newline. Emoji and formula/SQL-looking text stay as data."""
    if value.isprintable():
        return value.strip()
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # a JSON escape like \ud800 gives a lone surrogate, which no UTF-8 column or report can hold
    return _LONE_SURROGATES.sub("\ufffd", _CONTROL_CHARS.sub("", value)).strip()


@lru_cache(maxsize=4096)
def fold_key(key: str) -> str:
    """Compare field names loosely: case, spaces/underscores and Cyrillic/Latin look-alikes do not matter."""
    return _KEY_PUNCTUATION.sub("", unicodedata.normalize("NFKC", key).casefold()).translate(_HOMOGLYPHS)


def within_limits(number: Decimal) -> bool:
    return number.is_finite() and abs(number.adjusted()) <= MAX_NUMBER_EXPONENT


def out_of_range(text: str) -> bool:
    """Written like a number, but too long or too large to be one we accept ('1E+999999999', 60 digits)."""
    return bool(_NUMBER_SHAPE.fullmatch(text.strip().replace(",", ".")))


def parse_decimal(text: str) -> Decimal | None:
    """'1958,36', '1 250.00 грн', '-3', '2e3' -> Decimal; anything else (incl. NaN/Infinity, more than
    MAX_NUMBER_CHARS characters, a magnitude beyond 10^MAX_NUMBER_EXPONENT) -> None."""
    if len(text) > MAX_NUMBER_CHARS:
        return None
    if _SIMPLE_NUMBER.fullmatch(text):
        number = Decimal(text.replace(",", "."))
        return number if within_limits(number) else None
    cleaned = _GROUPING_SPACES.sub("", _CURRENCY_SUFFIX.sub("", text.strip()))
    if "," in cleaned and "." in cleaned:
        thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
        cleaned = cleaned.replace(thousands, "").replace(",", ".")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if within_limits(number) else None


def show_decimal(number: Decimal) -> str:
    """A number as people write it: 1000000000, 2.5, never 1E+9 (unless it is absurdly long)."""
    if abs(number.adjusted()) > 30:
        return str(number)
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def good_id_from_ref(ref: str | None) -> int | None:
    """Our goods.id when the shop's reference is a positive integer that fits the column, else None."""
    if ref and _POSITIVE_INTEGER.fullmatch(ref):
        number = int(ref)
        return number if number <= MAX_GOOD_ID else None
    return None


def parse_datetime(text: str) -> datetime | None:
    """ISO 8601 (with or without offset) or Ukrainian DD.MM.YYYY [HH:MM[:SS]]; None when it is not a date."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        pass
    for pattern in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def parse_date(text: str) -> date | None:
    """DDMMYYYY (Torgsoft), DD.MM.YYYY, YYYY-MM-DD or DD/MM/YYYY; None when it is not a date."""
    if len(text) == 8 and text.isascii() and text.isdigit():
        try:
            return date(int(text[4:]), int(text[2:4]), int(text[:2]))
        except ValueError:
            return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def looks_like_branch(text: str | None) -> bool:
    """'Відділення №12', 'отделение 5', '№ 12', 'Поштомат 2231' name a carrier's branch, not a street address."""
    return bool(text and _BRANCH_WORDS.search(text))


def is_cash_on_delivery(*texts: str | None) -> bool:
    return any(text and _CASH_ON_DELIVERY.search(text.strip()) for text in texts)


def payment_status(paid: bool, cash_on_delivery: bool) -> PaymentStatus:
    if paid:
        return "paid"
    return "cod" if cash_on_delivery else "unpaid"


def cancelled_status_warning(status: str | None) -> list[str]:
    if status and status.casefold() in _CANCELLED_STATUSES:
        return [f"the shop marks this order as '{status}'"]
    return []


def person_name(last: str | None, first: str | None, middle: str | None = None) -> str:
    """Ukrainian order: surname, given name, patronymic."""
    return " ".join(part for part in (last, first, middle) if part)


def unique_non_empty(*values: str | None) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def currency_code(text: str | None) -> str | None:
    """ISO 4217 letters ('uah' -> 'UAH') or the numeric codes Torgsoft may send (980 -> UAH); None if unknown."""
    if not text:
        return None
    code = text.strip().upper()
    numeric = {"980": "UAH", "840": "USD", "978": "EUR", "985": "PLN", "826": "GBP"}
    if code in numeric:
        return numeric[code]
    if code in {"ГРН", "ГРН."}:
        return "UAH"
    return code if re.fullmatch(r"[A-Z]{3}", code) else None
