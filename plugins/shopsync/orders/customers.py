"""Customers from orders: phone / e-mail normalisation, matching, and find-or-create without duplicates.

Matching: any of the order's phones (E.164) first, then the e-mail; a customer found that way is the
order's customer only when the names agree (shopsync_names_agree: case, apostrophes, Latin/Cyrillic
look-alikes, word order, an optional patronymic make no difference) or none is stored. Otherwise a new
customer is created and the order flagged: another person's e-mail, address, discount and bonus are
never touched by an order in a different name, and an e-mail that belongs to another customer is never
copied onto the one found. A found customer gets the order's non-empty contact data (the latest address
is the one the next waybill needs); empty fields never wipe what is known.

Normalising is Python's (phonenumbers); finding, locking and writing are the database's, in the
PL/pgSQL function shopsync_match_customer (include/sql/schema/006_order_trust.sql).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, NamedTuple

import phonenumbers
import sqlalchemy as sa

from shopsync.core.sql import sql_statement
from shopsync.orders.model import OrderCustomer

CustomerAction = Literal["created", "updated", "unchanged"]


class CustomerMatch(NamedTuple):
    customer_id: int
    action: CustomerAction
    reasons: list[str]          # what a person should look at (a name that did not match, an e-mail not copied)

DEFAULT_REGION = "UA"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CONTACT_FIELDS = ("email", "country", "region", "city", "zip", "np_branch", "address")


def normalise_phone(raw: str | None) -> str | None:
    """E.164 form of a phone as people type it (Ukrainian numbers without a country code), None for garbage."""
    if not raw or not raw.strip():
        return None
    parsed = _parse_phone(raw)
    if parsed is None:
        # "8 067 ..." is the old long-distance form of +38 067 ...
        digits = re.sub(r"\D", "", raw)
        if len(digits) == 11 and digits.startswith("80"):
            parsed = _parse_phone("3" + digits)
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse_phone(raw: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def normalise_email(raw: str | None) -> str | None:
    """Stripped, lower-case e-mail; None when empty or not shaped like an address."""
    if not raw:
        return None
    email = raw.strip().lower()
    return email if EMAIL.match(email) else None



def typed_phones(raws: list[str]) -> list[tuple[str, str | None]]:
    """Each phone as typed with its E.164 form (None when it is not a phone number)."""
    return [(raw, normalise_phone(raw)) for raw in raws]


def customer_document(customer: OrderCustomer, phones: list[tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """The customer as shopsync_upsert_customer takes it: contact fields cleaned (None when empty), the e-mail
    normalised, each E.164 phone once with the form the customer first typed it in.

    `phones` is `typed_phones(customer.phones)` when the caller already has it.
    """
    as_typed: dict[str, str] = {}
    for raw, phone in typed_phones(customer.phones) if phones is None else phones:
        if phone:
            as_typed.setdefault(phone, raw.strip())
    return {
        "full_name": _clean(customer.full_name) or "",
        **{name: _clean(getattr(customer, name)) for name in CONTACT_FIELDS},
        "email": normalise_email(customer.email),
        "phones": [{"e164": phone, "raw": raw} for phone, raw in as_typed.items()],
    }


def upsert_customer(conn: sa.Connection, customer: OrderCustomer) -> CustomerMatch:
    """Find the order's customer (by phone, then e-mail, names agreeing) and update them, or create them.

    Runs in the caller's transaction (shopsync_match_customer, the step shopsync_apply_order takes too);
    advisory locks on the normalised phones and e-mail make concurrent orders of the same new customer
    create one customer, not two.
    """
    document = json.dumps(customer_document(customer), ensure_ascii=False)
    row = conn.execute(sql_statement("orders/upsert_customer.sql"), {"customer": document}).one()
    return CustomerMatch(row.customer_id, row.action, list(row.reasons))


def names_agree(conn: sa.Connection, one: str, other: str) -> bool:
    """Whether two names are the same person's, by the rule the database matches customers with."""
    return conn.execute(sql_statement("orders/names_agree.sql"), {"one": one, "other": other}).scalar_one()


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None
