"""Who and where a waybill goes to, and the money on it: made from the invoice, its customer and the local carrier
directory, never from free text sent to the carrier as it is.

    invoice_facts(conn, invoice_id) -> InvoiceFacts
    build_recipient(conn, carrier, facts) -> Recipient | Unresolved
    cod_amount(facts) -> Decimal | None        cash on delivery: the total less what was prepaid
    declared_value(settings, facts, cod) -> Decimal
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from shopsync.carriers.base import Recipient
from shopsync.carriers.directory import Unresolved, resolve_place
from shopsync.core.errors import PermanentError
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.core.sql import sql_statement

UKRAINIAN_MOBILE = re.compile(r"^380\d{9}$")


@dataclass(frozen=True)
class InvoiceFacts:
    """The invoice as shipping sees it (fulfilment/invoice_for_shipping.sql)."""
    id: int
    number: str
    status: str
    payment_status: str                  # paid | unpaid | cod
    total: Decimal
    prepaid: Decimal                     # the sum of its 'prepayment' payments
    city: str | None
    branch: str | None
    branch_ref: str | None
    address: str | None                  # the invoice's delivery address
    customer_address: str | None
    zip: str | None
    name: str | None
    phone: str | None                    # E.164 as stored: +380...
    email: str | None


def invoice_facts(conn: sa.Connection, invoice_id: int) -> InvoiceFacts:
    row = conn.execute(sql_statement("fulfilment/invoice_for_shipping.sql"), {"invoice_id": invoice_id}).first()
    if row is None:
        raise PermanentError(f"invoice {invoice_id} does not exist")
    return InvoiceFacts(id=row.id, number=row.external_number, status=row.status, payment_status=row.payment_status,
                        total=row.total, prepaid=row.prepaid, city=row.city, branch=row.branch,
                        branch_ref=row.branch_ref, address=row.delivery_address, customer_address=row.customer_address,
                        zip=row.zip, name=row.full_name,
                        phone=row.phone, email=row.email)


def carrier_phone(e164: str | None) -> str | None:
    """The form carriers want (380XXXXXXXXX), or None for a phone that is not a Ukrainian number."""
    digits = re.sub(r"\D", "", e164 or "")
    return digits if UKRAINIAN_MOBILE.match(digits) else None


def build_recipient(conn: sa.Connection, carrier: str, facts: InvoiceFacts) -> Recipient | Unresolved:
    """The buyer with the carrier's refs for the place (directory.resolve_place), or why a waybill cannot be made.

    The reasons are sentences for the person who fixes the order (they land in the invoice's flags)."""
    name = " ".join((facts.name or "").split())
    if not name:
        return Unresolved("the buyer has no name")
    phone = carrier_phone(facts.phone)
    if phone is None:
        return Unresolved(f"the buyer's phone {facts.phone!r} is not a Ukrainian number (380XXXXXXXXX)"
                          if facts.phone else "the buyer has no phone number")
    place = resolve_place(conn, carrier, facts.city, facts.branch, facts.branch_ref, _address(carrier, facts))
    if isinstance(place, Unresolved):
        return place
    return Recipient(name=name, phone=phone, city_name=place.city_name, city_ref=place.city_ref,
                     branch_ref=place.branch_ref, branch_number=place.branch_number, postcode=place.postcode,
                     email=facts.email)


def _address(carrier: str, facts: InvoiceFacts) -> str | None:
    """The address text resolve_place may read: for Ukrposhta (a postcode) the customer's zip and address too; for
    a Nova Poshta branch only the invoice's delivery address (a street address's house number is no branch)."""
    if carrier == "ukrposhta":
        return " ".join(text for text in (facts.address or facts.customer_address, facts.zip) if text) or None
    return facts.address


def cod_amount(facts: InvoiceFacts) -> Decimal | None:
    """Cash on delivery for a 'cod' invoice: its total less the prepayments (None when nothing is left to collect,
    and for 'paid' and 'unpaid' invoices: an unpaid one is not shipped before a prepayment)."""
    if facts.payment_status != "cod":
        return None
    left = facts.total - facts.prepaid
    return left if left > 0 else None


def declared_value(settings: CarrierSettings, facts: InvoiceFacts, cod: Decimal | None) -> Decimal:
    """The value the carrier insures: the invoice total or the shop's fixed amount, never below the cash on delivery
    (Nova Poshta refuses a payment-control amount above the declared value)."""
    value = facts.total if settings.declared_value == "invoice_total" else settings.declared_value_amount
    return max(value, cod or Decimal(0))
