"""Customers from orders: phone / e-mail normalisation, matching, and find-or-create without duplicates.

Matching: any of the order's phones (E.164) first, then the e-mail. A found customer gets the
order's non-empty contact data (the latest address is the one the next waybill needs); empty
fields never wipe what is known, and the name is only filled in when none is stored (an order
placed by a relative from the same phone must not rename the customer).
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
import sqlalchemy as sa

from shopsync.orders.model import OrderCustomer
from shopsync.orders.sql import statement

CustomerAction = Literal["created", "updated", "unchanged"]

DEFAULT_REGION = "UA"
# First key of the two-key advisory locks, so they never collide with other advisory locks of the project.
ADVISORY_NAMESPACE = 7_420_002
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



def upsert_customer(conn: sa.Connection, customer: OrderCustomer) -> tuple[int, CustomerAction]:
    """Find the order's customer (by phone, then e-mail) and update them, or create them.

    Runs in the caller's transaction; advisory locks on the normalised phones and e-mail make
    concurrent orders of the same new customer create one customer, not two.
    """
    phones = _phones_as_typed(customer.phones)
    email = normalise_email(customer.email)
    _lock_identity(conn, list(phones), email)
    found = _find_customer(conn, list(phones), email)
    if found is None:
        customer_id = _create_customer(conn, customer, email)
        _add_phones(conn, customer_id, phones)
        return customer_id, "created"
    changed = _update_customer(conn, found, customer, email)
    added = _add_phones(conn, found.id, phones)
    return found.id, "updated" if changed or added else "unchanged"


def _phones_as_typed(raws: list[str]) -> dict[str, str]:
    """E.164 -> the phone as the customer first typed it."""
    phones: dict[str, str] = {}
    for raw in raws:
        if phone := normalise_phone(raw):
            phones.setdefault(phone, raw.strip())
    return phones


def _lock_identity(conn: sa.Connection, phones: list[str], email: str | None) -> None:
    # Sorted, so two orders naming the same phones in a different order take the locks in the same order.
    keys = sorted({f"phone:{phone}" for phone in phones} | ({f"email:{email}"} if email else set()))
    for key in keys:
        conn.execute(statement("customer_lock"), {"namespace": ADVISORY_NAMESPACE, "key": key})


def _find_customer(conn: sa.Connection, phones: list[str], email: str | None) -> sa.Row | None:
    if phones:
        row = conn.execute(statement("customer_by_phones"), {"phones": phones}).first()
        if row is not None:
            return row
    if email:
        return conn.execute(statement("customer_by_email"), {"email": email}).first()
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def _incoming_contact(customer: OrderCustomer, email: str | None) -> dict[str, str | None]:
    contact = {name: _clean(getattr(customer, name)) for name in CONTACT_FIELDS}
    contact["email"] = email
    return contact


def _create_customer(conn: sa.Connection, customer: OrderCustomer, email: str | None) -> int:
    values = {"full_name": _clean(customer.full_name) or "", **_incoming_contact(customer, email)}
    return conn.execute(statement("insert_customer"), values).scalar_one()


def _update_customer(conn: sa.Connection, found: sa.Row, customer: OrderCustomer, email: str | None) -> bool:
    current = {name: getattr(found, name) for name in ("full_name", *CONTACT_FIELDS)}
    merged = dict(current)
    if not current["full_name"]:
        merged["full_name"] = _clean(customer.full_name) or ""
    for name, value in _incoming_contact(customer, email).items():
        if value is not None:
            merged[name] = value
    if merged == current:
        return False
    conn.execute(statement("update_customer"), {"id": found.id, **merged})
    return True


def _add_phones(conn: sa.Connection, customer_id: int, phones: dict[str, str]) -> bool:
    added = False
    for phone, raw in phones.items():
        inserted = conn.execute(statement("insert_customer_phone"), {
            "customer_id": customer_id, "phone_raw": raw, "phone_e164": phone,
        }).first()
        added = added or inserted is not None
    return added
