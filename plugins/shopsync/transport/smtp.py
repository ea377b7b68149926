"""One e-mail through an SMTP server named by a Connection (smtplib): the buyer mail of orders/fulfilment/notify.py.

The connection is read the way the failure alerts read theirs (shopsync.airflow.alerts, the smtp provider's
SmtpHook): host, port, login and password, extras `disable_ssl` (plain SMTP instead of SMTPS, e.g. for port
25/587), `disable_tls` (no STARTTLS on a plain connection), `timeout` (seconds, default 30) and `ssl_context`
("none": do not verify the server's certificate, for a lab server). Unlike SmtpHook, STARTTLS is only tried on
a plain connection (SMTPS is encrypted already). `retry_limit` is not read: a buyer mail that failed is tried
again by the next run (buyer_messages.attempts).

What a caller learns when the mail did not go (secrets never in the message):
- MailServerUnavailable (a RemoteError): no connection, TLS or login did not work for now (refused, timeout,
  421, 454): nothing was sent and no other mail can go either; try later.
- RemoteError: the server refused this mail for now (4xx on MAIL, RCPT or DATA): nothing was sent.
- MailOutcomeUnknown (a RemoteError): the connection broke while the message was handed over: the server may
  have it. A caller that must not send twice does not send it again.
- RemoteRejected: a permanent refusal (5xx). `code` says of what: "recipient" (no such mailbox, a bad
  address), "message" (content refused), "sender" (the From address is not allowed), "login" (credentials
  refused or no AUTH offered), "tls" (STARTTLS not offered), "server" (a 5xx greeting).
"""

from __future__ import annotations

import email.policy
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from shopsync.core.errors import ConfigError
from shopsync.core.redaction import redact_text
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.connections import ConnectionInfo, get_connection

log = logging.getLogger(__name__)

# The SMTP Connection of shopsync's mail: the failure alerts' one (shopsync.airflow.alerts reads these too).
SMTP_CONN_ID_ENV = "SHOPSYNC_ALERT_SMTP_CONN_ID"
DEFAULT_SMTP_CONN_ID = "smtp_default"
DEFAULT_TIMEOUT = 30.0
# 7-bit transfer encodings: any server takes the message, with or without 8BITMIME.
MAIL_POLICY = email.policy.default.clone(cte_type="7bit")


class MailServerUnavailable(RemoteError):
    """The mail server could not be reached or logged in to for now: nothing was sent, nothing else can be."""


class MailOutcomeUnknown(RemoteError):
    """The connection broke while the message was handed over: the server may have accepted it."""


def smtp_conn_id() -> str:
    """The SMTP Connection id: SHOPSYNC_ALERT_SMTP_CONN_ID, else smtp_default."""
    return os.environ.get(SMTP_CONN_ID_ENV, "").strip() or DEFAULT_SMTP_CONN_ID


def smtp_connection() -> ConnectionInfo:
    """The SMTP Connection shopsync mails through (ConnectionInfo keeps its password out of repr and logs)."""
    return get_connection(smtp_conn_id())


def compose_mail(sender: str, to: Iterable[str], subject: str, text: str, html: str | None = None,
                 message_id: str | None = None) -> EmailMessage:
    """The message: plain text (and an HTML alternative), one-line subject, Date, Message-ID, Auto-Submitted."""
    recipients = list(to)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = " ".join(subject.split())        # one header line, whatever the order number holds
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain(sender))
    message["Auto-Submitted"] = "auto-generated"          # RFC 3834: no auto-replies to it
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message with CRLF line ends, as SMTP carries it (smtplib leaves the line ends of bytes alone)."""
    return message.as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n"))


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or socket.getfqdn()


def send_mail(connection: ConnectionInfo, sender: str, to: str | Iterable[str], subject: str, text: str,
              html: str | None = None, message_id: str | None = None) -> str:
    """Send one message to every address in `to` (all accepted or none sent); returns its Message-ID.

    `sender` may carry a display name ('"Shop" <shop@example.com>'); the envelope uses the address.
    Raises the errors of the module docstring.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    message = compose_mail(sender, recipients, subject, text, html, message_id)
    client = open_client(connection)
    try:
        hand_over(client, connection, parseaddr(sender)[1], recipients, wire_bytes(message))
    finally:
        close_client(client)
    return str(message["Message-ID"])


# --- the session ---------------------------------------------------------------------------------

def open_client(connection: ConnectionInfo) -> smtplib.SMTP:
    """Connected, encrypted as the extras say, logged in when the connection has a login."""
    if not connection.host:
        raise ConfigError(f"SMTP connection {connection.conn_id!r} has no host")
    use_ssl = not connection.extra_bool("disable_ssl", False)
    timeout = connection.extra_float("timeout", DEFAULT_TIMEOUT)
    context = ssl_context(connection)
    try:
        if use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(connection.host, connection.port or 0, timeout=timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(connection.host, connection.port or 0, timeout=timeout)
    except smtplib.SMTPResponseException as exc:          # SMTPConnectError: the greeting was not 220
        raise refusal(connection, "server", "greeted with", exc.smtp_code, exc.smtp_error) from None
    except OSError as exc:
        raise unavailable(connection, "cannot connect", exc) from None
    try:
        start_session(client, connection, starttls=not use_ssl and not connection.extra_bool("disable_tls", False),
                      context=context)
    except BaseException:
        close_client(client)
        raise
    return client


def start_session(client: smtplib.SMTP, connection: ConnectionInfo, starttls: bool, context: ssl.SSLContext) -> None:
    """EHLO, STARTTLS when asked for, login when the connection has one."""
    step = "tls"
    try:
        client.ehlo()
        if starttls:
            client.starttls(context=context)
            client.ehlo()
        step = "login"
        if connection.login:
            client.login(connection.login, connection.password)
    except smtplib.SMTPNotSupportedError:
        offered = "AUTH (a login)" if step == "login" else "STARTTLS (set disable_tls to send without it)"
        raise RemoteRejected(describe(connection, "cannot start the session", f"the server does not offer {offered}"),
                             code=step) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise refusal(connection, "login", "refused the login", exc.smtp_code, exc.smtp_error) from None
    except smtplib.SMTPResponseException as exc:
        raise refusal(connection, "server", "refused the session", exc.smtp_code, exc.smtp_error) from None
    except OSError as exc:                                 # disconnected, timeout, TLS handshake
        raise unavailable(connection, "the session broke off", exc) from None


def hand_over(client: smtplib.SMTP, connection: ConnectionInfo, envelope_from: str, recipients: list[str],
              payload: bytes) -> None:
    """MAIL, RCPT for each (any refused: nothing is sent), DATA. Only DATA's end is ambiguous."""
    try:
        code, reply = client.mail(envelope_from)
        if code != 250:
            raise refusal(connection, "sender", f"refused the sender {envelope_from}", code, reply)
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                reset_quietly(client)
                raise refusal(connection, "recipient", "refused the recipient", code, reply)
    except smtplib.SMTPResponseException as exc:
        raise refusal(connection, "server", "refused the envelope", exc.smtp_code, exc.smtp_error) from None
    except OSError as exc:
        raise unavailable(connection, "the session broke off before the message", exc) from None
    try:
        code, reply = client.data(payload)
    except smtplib.SMTPResponseException as exc:          # SMTPDataError: DATA itself refused (no 354)
        raise refusal(connection, "message", "refused the message", exc.smtp_code, exc.smtp_error) from None
    except OSError as exc:
        raise MailOutcomeUnknown(describe(connection, "the connection broke while the message was handed over "
                                                      "(the server may have it)", exc)) from None
    if code != 250:
        raise refusal(connection, "message", "refused the message", code, reply)


def reset_quietly(client: smtplib.SMTP) -> None:
    """RSET after a refused recipient; a server gone meanwhile must not hide the refusal."""
    try:
        client.rset()
    except (OSError, smtplib.SMTPException):
        pass


def close_client(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def ssl_context(connection: ConnectionInfo) -> ssl.SSLContext:
    """Verified by default; extra ssl_context "none" skips the certificate check (a self-signed lab server)."""
    choice = connection.extra_str("ssl_context", "default").strip().lower() or "default"
    if choice not in ("default", "none"):
        raise ConfigError(f"SMTP connection {connection.conn_id!r}: extra ssl_context must be 'default' or 'none'")
    context = ssl.create_default_context()
    if choice == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# --- errors --------------------------------------------------------------------------------------

def server_name(connection: ConnectionInfo) -> str:
    return f"{connection.host}:{connection.port}" if connection.port else connection.host


def describe(connection: ConnectionInfo, what: str, detail: object) -> str:
    """`mail server host:port: what: detail`, the connection's secrets and URL passwords hidden."""
    detail_text = detail if isinstance(detail, str) else f"{type(detail).__name__}: {detail}"
    return redact_text(f"mail server {server_name(connection)} (connection {connection.conn_id}): {what}: "
                       f"{detail_text}", connection.secrets)


def reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


def refusal(connection: ConnectionInfo, kind: str, what: str, code: int, reply: bytes | str) -> RemoteError:
    """4xx: try later (421, and any 4xx of the login or the greeting, stop the whole server); 5xx: permanent."""
    message = describe(connection, what, reply_text(code, reply))
    if 500 <= code < 600:
        return RemoteRejected(message, status=code, code=kind)
    if code == 421 or kind in ("login", "server"):
        return MailServerUnavailable(message)
    return RemoteError(message)


def unavailable(connection: ConnectionInfo, what: str, exc: BaseException) -> MailServerUnavailable:
    return MailServerUnavailable(describe(connection, what, exc))
