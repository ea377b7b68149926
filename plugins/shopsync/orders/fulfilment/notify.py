"""Mail to buyers: the waybill of a shipped order, and the bank details to pay an order before it ships.

`send_buyer_messages(engine, shop, connection)` sends what is due, each message at most once per (invoice, kind):
- 'waybill': a shipped invoice whose shipment (state 'created') has a waybill: the lines, the total, the
  waybill with the carrier's tracking link, the cash-on-delivery amount to pay on receipt;
- 'payment_request': a reserved or ready invoice to be paid before shipping (payment_status 'unpaid'), when
  the shop has `bank_details`: recipient, IBAN, EDRPOU, bank, the amount left after prepayments, the purpose.

At most once: the buyer_messages row is committed 'sending' before the SMTP call and 'sent' after. A run holds
the shop's lock (a session advisory lock), so a row still 'sending' when a run starts was left by a killed
run: the buyer may have that mail, so it becomes 'unknown' and is never sent again (a person checks). The
mail server's answers (transport.smtp):
- accepted -> 'sent';
- refused for now (4xx) -> 'failed', tried again by the next runs, at most `max_attempts` tries in all;
- server unreachable (or its login failing for now) -> 'failed' without using up a try, and the run sends
  nothing more (the rest waits for the next run; `deferred` counts it);
- the connection broke while the message was handed over -> 'unknown' (the server may have it);
- the address or the content refused for good (5xx) -> 'failed' with no tries left;
- the login, the sender or TLS refused for good -> 'failed' without using up a try, and the error is raised:
  no mail can go until a person fixes the Connection or `fulfilment.mail_from`.
No e-mail address (or one that cannot be a mailbox) -> nothing is written; the run counts it as skipped, and a
later run sends the mail once the customer has an address.
"""

from __future__ import annotations

import logging
import re
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import make_msgid
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.carriers.base import carrier_title
from shopsync.core.config import ShopSettings
from shopsync.core.errors import ConfigError
from shopsync.core.locks import BUYER_MAIL, session_lock
from shopsync.core.sql import sql_statement
from shopsync.core.templates import render_template
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.connections import ConnectionInfo
from shopsync.transport.smtp import MailOutcomeUnknown, MailServerUnavailable, send_mail

log = logging.getLogger(__name__)

MessageKind = Literal["waybill", "payment_request"]
Outcome = Literal["sent", "failed", "refused", "unknown", "server_down", "taken"]

MAX_ATTEMPTS = 3
PER_MESSAGE_REFUSALS = frozenset({"recipient", "message"})   # RemoteRejected codes about this one mail
TRACKING_URLS = {
    "nova_poshta": "https://novaposhta.ua/tracking/?cargo_number={number}",
    "ukrposhta": "https://track.ukrposhta.ua/tracking_UA.html?barcode={number}",
}
# An address we hand to the mail server: ASCII, one @, a dotted domain, no spaces or line breaks.
MAILBOX = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


@dataclass
class NotifySummary:
    """One run's buyer mail. `failed` counts this run's failures (tried again later unless refused for good)."""

    shop_id: str
    sent: int = 0
    skipped_no_email: int = 0
    failed: int = 0
    unknown: int = 0             # left 'sending' by a killed run (found now) or cut off while handed over
    deferred: int = 0            # not tried: the mail server was unavailable
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        text = (f"buyer mail: {self.sent} sent, {self.skipped_no_email} without an e-mail address, "
                f"{self.failed} failed, {self.unknown} unknown")
        if self.deferred:
            text += f", {self.deferred} waiting for the mail server"
        return "; ".join([text, *self.notes])


@dataclass(frozen=True)
class BuyerMail:
    """One due message, rendered."""

    invoice_id: int
    number: str
    kind: MessageKind
    recipient: str
    subject: str
    text: str
    html: str


def send_buyer_messages(engine: Engine, shop: ShopSettings, connection: ConnectionInfo,
                        now: datetime | None = None, *, max_attempts: int = MAX_ATTEMPTS) -> NotifySummary:
    """Send the shop's due buyer mail through the SMTP `connection` (module docstring)."""
    now = now or datetime.now(UTC)
    summary = NotifySummary(shop.id)
    if not shop.fulfilment.buyer_emails:
        summary.notes.append("buyer e-mails are off (fulfilment.buyer_emails: false)")
        return summary
    with shop_lock(engine, shop.id) as locked:
        if not locked:
            summary.notes.append("another run is sending this shop's buyer mail now; this run left it")
            return summary
        summary.unknown += mark_leftovers_unknown(engine, shop.id)
        due = due_mail(engine, shop, max_attempts, summary)
        if due:
            send_due(engine, connection, mail_from(shop, connection), due, now, max_attempts, summary)
    return summary


def shop_lock(engine: Engine, shop_id: str) -> AbstractContextManager[bool]:
    """Hold the shop's buyer-mail lock for the run (a connection of its own); yields False when another has it."""
    return session_lock(engine, BUYER_MAIL, shop_id)


def mark_leftovers_unknown(engine: Engine, shop_id: str) -> int:
    with engine.begin() as conn:
        rows = conn.execute(sql_statement("fulfilment/notify_mark_unknown.sql"), {"shop_id": shop_id}).all()
    for row in rows:
        log.warning("shop %s: the %s mail of invoice %s was being sent when a run stopped: marked unknown, "
                    "not sent again (the buyer may have it)", shop_id, row.kind, row.external_number)
    return len(rows)


def mail_from(shop: ShopSettings, connection: ConnectionInfo) -> str:
    """'"<shop name>" <address>': fulfilment.mail_from, else the Connection's from_email extra, else its login."""
    candidates = (shop.fulfilment.mail_from, connection.extra_str("from_email"), connection.login)
    address = next((value.strip() for value in candidates if value and "@" in value), None)
    if address is None or not MAILBOX.match(address):
        raise ConfigError(f"shop {shop.id}: buyer mail needs a sender address: set fulfilment.mail_from in the shop "
                          f"file, or from_email in the extra of the SMTP connection {connection.conn_id!r}")
    try:
        return str(Address(display_name=shop.name, addr_spec=address))
    except (HeaderParseError, ValueError, IndexError):
        raise ConfigError(f"shop {shop.id}: sender address {address!r} is not usable") from None


# --- what is due ---------------------------------------------------------------------------------

def due_mail(engine: Engine, shop: ShopSettings, max_attempts: int, summary: NotifySummary) -> list[BuyerMail]:
    """The shop's due messages, rendered; invoices without a usable address counted as skipped."""
    params = {"shop_id": shop.id, "max_attempts": max_attempts}
    due: list[BuyerMail] = []
    with engine.connect() as conn:
        waybills = conn.execute(sql_statement("fulfilment/notify_waybill_due.sql"), params).all()
        payments = conn.execute(sql_statement("fulfilment/notify_payment_due.sql"), params).all()
        if payments and shop.bank_details is None:
            summary.notes.append(f"{len(payments)} invoice(s) to prepay but no bank_details in the shop file: "
                                 "no payment requests sent")
            payments = []
        for kind, rows in (("waybill", waybills), ("payment_request", payments)):
            for row in rows:
                if not usable_address(row.email):
                    summary.skipped_no_email += 1
                    log.info("shop %s: no %s mail for invoice %s: the customer has no usable e-mail address",
                             shop.id, kind, row.external_number)
                    continue
                lines = conn.execute(sql_statement("fulfilment/notify_invoice_lines.sql"),
                                     {"invoice_id": row.invoice_id}).all()
                due.append(render_mail(shop, kind, row, lines))
    return due


def usable_address(email: str | None) -> bool:
    return bool(email) and MAILBOX.match(email.strip()) is not None


def render_mail(shop: ShopSettings, kind: MessageKind, row: sa.Row, lines: list[sa.Row]) -> BuyerMail:
    values = waybill_values(shop, row, lines) if kind == "waybill" else payment_values(shop, row, lines)
    template = f"buyer_{kind}"
    return BuyerMail(
        invoice_id=row.invoice_id, number=row.external_number, kind=kind, recipient=row.email.strip(),
        subject=subject(shop, kind, row),
        text=render_template(f"{template}.txt.j2", **values),
        html=render_template(f"{template}.html.j2", **values),
    )


def subject(shop: ShopSettings, kind: MessageKind, row: sa.Row) -> str:
    if kind == "waybill":
        return f"{shop.name}: замовлення №{row.external_number} відправлено, ТТН {row.waybill_number}"
    return f"{shop.name}: рахунок на оплату замовлення №{row.external_number}"


def common_values(shop: ShopSettings, row: sa.Row, lines: list[sa.Row]) -> dict[str, Any]:
    return {
        "shop": {"name": shop.name, "url": shop.url, "company": shop.company},
        "number": row.external_number,
        "customer_name": (row.full_name or "").strip(),
        "comment": (row.comment or "").strip(),
        "lines": lines,
        "total": row.total,
        "currency": row.currency.strip(),
    }


def waybill_values(shop: ShopSettings, row: sa.Row, lines: list[sa.Row]) -> dict[str, Any]:
    return common_values(shop, row, lines) | {
        "carrier": carrier_title(row.carrier),
        "waybill": row.waybill_number,
        "tracking_url": tracking_url(row.carrier, row.waybill_number),
        "cod_amount": row.cod_amount if row.cod_amount and row.cod_amount > 0 else None,
        "estimated_delivery": row.estimated_delivery.strftime("%d.%m.%Y") if row.estimated_delivery else "",
        "destination": ", ".join(part.strip() for part in (row.delivery_city, row.delivery_branch) if part),
        "buyer_pays_delivery": any(carrier.kind == row.carrier and carrier.payer == "Recipient"
                                   for carrier in shop.carriers),
    }


def payment_values(shop: ShopSettings, row: sa.Row, lines: list[sa.Row]) -> dict[str, Any]:
    bank = shop.bank_details
    assert bank is not None                      # due_mail drops payment requests of a shop without bank details
    return common_values(shop, row, lines) | {
        "bank": bank,
        "amount_due": row.amount_due,
        "prepaid": row.prepaid if row.prepaid > 0 else None,
        "purpose": bank.purpose.replace("{number}", row.external_number),
    }


def tracking_url(carrier: str, waybill: str) -> str:
    template = TRACKING_URLS.get(carrier)
    return template.format(number=waybill) if template else ""


# --- sending -------------------------------------------------------------------------------------

def send_due(engine: Engine, connection: ConnectionInfo, sender: str, due: list[BuyerMail], now: datetime,
             max_attempts: int, summary: NotifySummary) -> None:
    for position, mail in enumerate(due):
        outcome = send_one(engine, connection, sender, mail, now, max_attempts, summary)
        if outcome == "sent":
            summary.sent += 1
        elif outcome == "unknown":
            summary.unknown += 1
        elif outcome in ("failed", "refused", "server_down"):
            summary.failed += 1
        if outcome == "server_down":
            summary.deferred += len(due) - position - 1
            return


def send_one(engine: Engine, connection: ConnectionInfo, sender: str, mail: BuyerMail, now: datetime,
             max_attempts: int, summary: NotifySummary) -> Outcome:
    """Claim, send, record. Raises (after recording) when no mail can go until a person fixes the settings."""
    key = {"invoice_id": mail.invoice_id, "kind": mail.kind}
    with engine.begin() as conn:
        attempts = conn.execute(sql_statement("fulfilment/notify_claim.sql"),
                                {**key, "recipient": mail.recipient, "max_attempts": max_attempts}).scalar()
    if attempts is None:
        return "taken"
    try:
        send_mail(connection, sender, mail.recipient, mail.subject, mail.text, mail.html,
                  message_id=make_msgid(idstring=f"{mail.kind}.{mail.invoice_id}", domain=domain_of(sender)))
    except MailOutcomeUnknown as exc:
        return finish(engine, mail, "unknown", attempts, str(exc), now, summary, "unknown")
    except MailServerUnavailable as exc:         # the server, not this mail: the try is not counted
        return finish(engine, mail, "failed", attempts - 1, str(exc), now, summary, "server_down")
    except RemoteRejected as exc:
        if exc.code in PER_MESSAGE_REFUSALS:
            return finish(engine, mail, "failed", max(attempts, max_attempts), f"refused: {exc}", now, summary,
                          "refused")
        finish(engine, mail, "failed", attempts - 1, str(exc), now, summary, "failed")
        raise
    except RemoteError as exc:
        return finish(engine, mail, "failed", attempts, str(exc), now, summary, "failed")
    except ConfigError as exc:                  # raised before any connection: nothing was sent
        finish(engine, mail, "failed", attempts - 1, str(exc), now, summary, "failed")
        raise
    finish(engine, mail, "sent", attempts, None, now, summary, "sent")
    log.info("shop %s: %s mail for invoice %s sent", summary.shop_id, mail.kind, mail.number)
    return "sent"


def finish(engine: Engine, mail: BuyerMail, state: str, attempts: int, error: str | None, now: datetime,
           summary: NotifySummary, outcome: Outcome) -> Outcome:
    with engine.begin() as conn:
        conn.execute(sql_statement("fulfilment/notify_finish.sql"), {
            "invoice_id": mail.invoice_id, "kind": mail.kind, "state": state, "attempts": attempts,
            "error": error, "now": now,
        })
    if error is not None:
        problem = f"invoice {mail.number}: {mail.kind} mail {state}: {error}"
        summary.problems.append(problem)
        log.warning("shop %s: %s", summary.shop_id, problem)
    return outcome


def domain_of(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">") or "localhost"
