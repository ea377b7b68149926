"""transport/smtp.py against a real SMTP server (aiosmtpd, tests/mail_server.py) on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from aiosmtpd.controller import Controller
from mail_server import LOGIN, PASSWORD, SENDER, SmtpServer, free_port

from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.connections import ConnectionInfo, parse_connection
from shopsync.transport.smtp import (
    SMTP_CONN_ID_ENV,
    MailOutcomeUnknown,
    MailServerUnavailable,
    send_mail,
    smtp_conn_id,
    smtp_connection,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

BUYER = "buyer@example.com"
NBSP = "\u00a0"
SHOP_SENDER = '"Демо-магазин" <shop@example.com>'


def connection(server: SmtpServer, password: str = PASSWORD, **extra: object) -> ConnectionInfo:
    data = json.loads(server.connection_json(password))
    data["extra"].update(extra)
    return parse_connection("smtp_default", json.dumps(data))


def send(conn: ConnectionInfo, to: str = BUYER, **kwargs: object) -> str:
    return send_mail(conn, SHOP_SENDER, to, "Замовлення №P-1 відправлено", "Текст листа\nТТН 20450000000001",
                     "<p>Текст листа</p>", **kwargs)


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert "Sm7p" not in text


def test_send_mail_logs_in_and_delivers_text_and_html(smtp_server: SmtpServer) -> None:
    message_id = send(smtp_connection())

    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.login == LOGIN
    assert mail.mail_from == "shop@example.com"
    assert mail.rcpt_tos == [BUYER]
    message = mail.message
    assert message["Subject"] == "Замовлення №P-1 відправлено"
    assert message["From"] == "Демо-магазин <shop@example.com>"
    assert message["To"] == BUYER
    assert message["Message-ID"] == message_id and message_id.endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert mail.body("plain") == "Текст листа\nТТН 20450000000001\n"
    assert mail.body("html") == "<p>Текст листа</p>\n"
    assert max(mail.raw) < 128                  # 7-bit on the wire: any server takes it
    assert_no_secret(mail.raw.decode())


def test_a_long_mail_goes_with_crlf_line_ends(smtp_server: SmtpServer) -> None:
    html = "".join(f"<tr><td>Товар {n}</td><td>1{NBSP}500,00{NBSP}грн</td></tr>\n" for n in range(300))

    send_mail(smtp_connection(), SHOP_SENDER, BUYER, "Довгий лист", "Рядок\n" * 300, html)

    mail = smtp_server.received[0]                # a server reads lines up to 1000 bytes, ended by CRLF
    assert mail.body("html") == html and mail.body("plain") == "Рядок\n" * 300


def test_a_given_message_id_is_kept_and_a_text_only_mail_has_one_part(smtp_server: SmtpServer) -> None:
    send_mail(smtp_connection(), SENDER, [BUYER, "second@example.com"], "Subject\r\nBcc: evil@example.com",
              "text only", message_id="<waybill.7@example.com>")

    message = smtp_server.received[0].message
    assert message["Message-ID"] == "<waybill.7@example.com>"
    assert message["Subject"] == "Subject Bcc: evil@example.com"      # one header line: no header injection
    assert message["Bcc"] is None
    assert message.get_content_type() == "text/plain"
    assert smtp_server.received[0].rcpt_tos == [BUYER, "second@example.com"]


def test_the_connection_id_comes_from_the_alerts_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SMTP_CONN_ID_ENV, raising=False)
    assert smtp_conn_id() == "smtp_default"
    monkeypatch.setenv(SMTP_CONN_ID_ENV, " shop_mail ")
    assert smtp_conn_id() == "shop_mail"


def test_unreachable_server_is_a_retryable_error_without_the_password() -> None:
    closed = SmtpServer(host="127.0.0.1", port=free_port())         # nothing listens there

    with pytest.raises(MailServerUnavailable) as caught:
        send(connection(closed))

    assert isinstance(caught.value, RemoteError) and caught.value.retryable
    assert "cannot connect" in str(caught.value) and "ConnectionRefusedError" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_wrong_password_is_a_permanent_login_refusal_without_the_password(smtp_server: SmtpServer) -> None:
    with pytest.raises(RemoteRejected) as caught:
        send(connection(smtp_server, password="Wr0ng-Passw0rd"))

    assert caught.value.code == "login" and caught.value.status == 535
    assert not caught.value.retryable
    assert "Wr0ng-Passw0rd" not in str(caught.value)
    assert smtp_server.received == []


def test_a_recipient_refused_for_good_sends_nothing(smtp_server: SmtpServer) -> None:
    smtp_server.rcpt_replies[BUYER] = "550 5.1.1 no such user"

    with pytest.raises(RemoteRejected) as caught:
        send(smtp_connection())

    assert (caught.value.code, caught.value.status) == ("recipient", 550)
    assert "550 5.1.1 no such user" in str(caught.value)
    assert smtp_server.received == []


def test_one_refused_recipient_of_two_sends_to_none(smtp_server: SmtpServer) -> None:
    smtp_server.rcpt_replies["second@example.com"] = "553 5.1.3 bad address"

    with pytest.raises(RemoteRejected):
        send_mail(smtp_connection(), SENDER, [BUYER, "second@example.com"], "s", "t")

    assert smtp_server.received == []


def test_a_recipient_refused_for_now_is_retryable_but_not_the_server_down(smtp_server: SmtpServer) -> None:
    smtp_server.rcpt_replies[BUYER] = "450 4.2.1 mailbox busy, try later"

    with pytest.raises(RemoteError) as caught:
        send(smtp_connection())

    assert not isinstance(caught.value, (MailServerUnavailable, MailOutcomeUnknown))
    assert "450 4.2.1 mailbox busy" in str(caught.value)


@pytest.mark.parametrize(("reply", "error", "code"), [
    ("554 5.7.1 message refused as spam", RemoteRejected, "message"),
    ("451 4.3.0 local error, try again", RemoteError, None),
])
def test_the_message_refused(smtp_server: SmtpServer, reply: str, error: type[Exception], code: str | None) -> None:
    smtp_server.data_reply = reply

    with pytest.raises(error) as caught:
        send(smtp_connection())

    assert reply in str(caught.value)
    assert getattr(caught.value, "code", None) == code
    assert not isinstance(caught.value, MailOutcomeUnknown)


def test_a_connection_broken_while_the_message_is_handed_over_is_unknown(smtp_server: SmtpServer) -> None:
    smtp_server.drop_after_data = True

    with pytest.raises(MailOutcomeUnknown, match="the server may have it"):
        send(smtp_connection())

    assert len(smtp_server.received) == 1        # it did arrive: a caller must not send it again


def test_starttls_asked_for_but_not_offered_is_a_permanent_refusal(smtp_server: SmtpServer) -> None:
    with pytest.raises(RemoteRejected) as caught:
        send(connection(smtp_server, disable_tls=False))

    assert caught.value.code == "tls"
    assert "STARTTLS" in str(caught.value)


def test_smtps_against_a_plain_server_is_unavailable(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailServerUnavailable, match="cannot connect"):
        send(connection(smtp_server, disable_ssl="false"))        # URI extras are strings

    assert smtp_server.received == []


def test_a_login_on_a_server_without_auth_is_refused_clearly() -> None:
    plain = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(plain, hostname=plain.host, port=plain.port)      # no authenticator: no AUTH offered
    controller.start()
    try:
        with pytest.raises(RemoteRejected) as caught:
            send(connection(plain))
    finally:
        controller.stop()

    assert caught.value.code == "login"
    assert "does not offer AUTH" in str(caught.value)
    assert_no_secret(str(caught.value))
    assert plain.received == []


def test_without_a_login_the_mail_goes_unauthenticated() -> None:
    plain = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(plain, hostname=plain.host, port=plain.port)
    controller.start()
    try:
        send(ConnectionInfo(conn_id="relay", conn_type="smtp", host=plain.host, port=plain.port,
                            extra={"disable_ssl": True, "disable_tls": True, "timeout": 5}))
    finally:
        controller.stop()

    assert [(mail.login, mail.rcpt_tos) for mail in plain.received] == [(None, [BUYER])]
