"""What makes two copies of an order the same order: its canonical content and the digest of it.

An order number that arrives again is "skipped as already present" when its content digest equals the
one stored with the invoice, and recorded as a conflict when it differs (shopsync_apply_order, schema 6).
The content is what the invoice, the reservation, the customer, the payment and the delivery depend on:
the lines (good, references, quantity, price), the customer's name, phones, e-mail and address, payment,
delivery, currency, gift certificates and bonus. Not part of it, so that they never count as a difference:
the order of keys and of lines, whitespace and letter case in texts, apostrophe variants, how a number is
written (100, 100.00, 1E+2), line names (the shop's wording of a good), the comment, the order date and
reserve-until date (re-exports restamp them) and the parser's warnings.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'", "ʹ": "'", "′": "'"})
CUSTOMER_TEXTS = ("country", "region", "city", "zip", "np_branch", "address")


def order_content(document: dict[str, Any]) -> dict[str, Any]:
    """The canonical content of an order document (apply.order_document), as plain JSON values."""
    invoice, buyer = document["invoice"], document["customer"]
    return {
        "lines": sorted((_line(line) for line in document["lines"]), key=_sort_key),
        "customer": {
            "name": text_key(buyer["full_name"]),
            "email": buyer["email"],
            "phones": sorted(phone["e164"] for phone in buyer["phones"]),
            **{name: text_key(buyer[name]) for name in CUSTOMER_TEXTS},
        },
        "payment": {"status": invoice["payment_status"], "method": text_key(invoice["payment_method"])},
        "delivery": {name: text_key(invoice[f"delivery_{name}"]) for name in ("method", "city", "branch", "address")},
        "currency": invoice["currency"],
        "gift_certificates": sorted(document["gift_certificates"]),
        "bonus_pay": number_key(document["bonus_pay"]),
    }


def content_digest(content: dict[str, Any]) -> str:
    """sha256 of the content's one JSON spelling (sorted keys, no spaces)."""
    spelled = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(spelled.encode()).hexdigest()


def text_key(value: str | None) -> str | None:
    """A text as compared: spaces collapsed, case folded, apostrophes unified; None when empty."""
    if value is None:
        return None
    folded = " ".join(value.translate(APOSTROPHES).split()).casefold()
    return folded or None


def number_key(value: str | None) -> str | None:
    """A decimal as compared: 100, 100.00 and 1E+2 are all "100"."""
    if value is None:
        return None
    number = Decimal(value)
    return format(number.normalize(), "f") if number else "0"


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "good_id": line["good_id"],
        "refs": list(line["refs"]),
        "quantity": number_key(line["quantity"]),
        "price": number_key(line["price"]),
    }


def _sort_key(line: dict[str, Any]) -> str:
    return json.dumps(line, sort_keys=True, ensure_ascii=False)
