"""Buyer mail (orders/fulfilment/notify.py) through a real SMTP server (aiosmtpd, tests/mail_server.py)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from mail_server import PASSWORD, SmtpServer, free_port
from orderdata import SHOP, TODAY, WAREHOUSES, customer, execute, line, order, rows, scalar
from shop_files import shop_settings
from sqlalchemy.engine import Engine

from shopsync.core.config import ShopSettings
from shopsync.core.errors import ConfigError
from shopsync.core.locks import BUYER_MAIL, session_lock
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order
from shopsync.orders.fulfilment.notify import NotifySummary, send_buyer_messages
from shopsync.transport.api_client import RemoteRejected
from shopsync.transport.connections import ConnectionInfo, parse_connection
from shopsync.transport.smtp import smtp_connection

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
NBSP = "\u00a0"
BANK = {"recipient": "ТОВ «Демо Рітейл»", "iban": "UA213223130000026007233566001", "edrpou": "12345678",
        "bank": "АТ «Приклад Банк»"}
MAIL_FROM = "orders@demo.example.com"
NP_LINK = "https://novaposhta.ua/tracking/?cargo_number="


def shop(**changes: object) -> ShopSettings:
    data = shop_settings(SHOP, bank_details=BANK, fulfilment={"mail_from": MAIL_FROM})
    data.update(changes)
    return ShopSettings.model_validate(data)


def buyer(n: int, email: str | None = "auto", **fields: object):
    address = f"buyer{n}@example.com" if email == "auto" else email
    return customer(phone=f"050123450{n}", email=address, full_name=fields.pop("full_name", f"Покупець {n}"),
                    **fields)


def applied(engine: Engine, number: str, who, lines=None, **fields) -> int:
    result = apply_order(engine, SHOP, order(number, lines or [line(102, "2"), line(104, "1")], who, **fields),
                         WAREHOUSES, None, TODAY)
    assert scalar(engine, "SELECT status FROM invoices WHERE id = :i", i=result.invoice_id) == "reserved"
    return result.invoice_id


def shipped(engine: Engine, number: str, who, waybill: str, cod: str | None = None, carrier: str = "nova_poshta",
            **fields) -> int:
    """An invoice shipped as the ship part does it: delivery note (workflow.ship) + shipment 'created'."""
    invoice_id = applied(engine, number, who, payment_status="cod" if cod else "paid", **fields)
    with engine.begin() as conn:
        note_id = workflow.ship(conn, invoice_id, carrier, waybill, Decimal(cod) if cod else None)
        conn.execute(sa.text(
            "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, waybill_number, cod_amount,"
            " delivery_note_id, delivery_state, estimated_delivery)"
            " VALUES (:shop, :i, :carrier, 'created', :key, :waybill, :cod, :note, 'created', DATE '2026-12-09')"),
            {"shop": SHOP, "i": invoice_id, "carrier": carrier, "key": f"{SHOP}-{number}-{invoice_id}",
             "waybill": waybill, "cod": Decimal(cod) if cod else None, "note": note_id})
    return invoice_id


def messages(engine: Engine) -> list[tuple]:
    return [tuple(row) for row in rows(engine, "SELECT i.external_number, m.kind, m.recipient, m.state, m.attempts"
                                               " FROM buyer_messages m JOIN invoices i ON i.id = m.invoice_id"
                                               " ORDER BY i.external_number, m.kind")]


def run(engine: Engine, settings: ShopSettings | None = None, conn: ConnectionInfo | None = None) -> NotifySummary:
    return send_buyer_messages(engine, settings or shop(), conn or smtp_connection(), now=NOW)


def closed_connection() -> ConnectionInfo:
    """The test server's connection, on a port nothing listens on: the mail server is down."""
    return parse_connection("smtp_default", SmtpServer(host="127.0.0.1", port=free_port()).connection_json())


def by_recipient(server: SmtpServer) -> dict[str, object]:
    return {mail.rcpt_tos[0]: mail for mail in server.received}


# --- the waybill mail ----------------------------------------------------------------------------

def test_one_waybill_mail_per_shipped_invoice_with_the_waybill_and_its_link(shop_db: Engine,
                                                                           smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001", cod="5100.00", delivery_city="Київ",
            delivery_branch="Відділення №33")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")
    applied(shop_db, "P-3", buyer(3), payment_status="paid")            # reserved and paid: no mail at all

    summary = run(shop_db)

    assert (summary.sent, summary.skipped_no_email, summary.failed, summary.unknown) == (2, 0, 0, 0)
    assert summary.line() == "buyer mail: 2 sent, 0 without an e-mail address, 0 failed, 0 unknown"
    mails = by_recipient(smtp_server)
    assert sorted(mails) == ["buyer1@example.com", "buyer2@example.com"]
    first = mails["buyer1@example.com"]
    assert first.mail_from == MAIL_FROM
    assert first.message["From"] == f"Демо-магазин <{MAIL_FROM}>"
    assert first.message["Subject"] == "Демо-магазин: замовлення №P-1 відправлено, ТТН 20450000000001"
    assert first.message["Message-ID"].endswith("@demo.example.com>")
    text = first.body("plain")
    for expected in ("Вітаємо, Покупець 1!", "Ваше замовлення №P-1 у магазині «Демо-магазин» відправлено.",
                     "Перевізник: Нова пошта", "Номер накладної (ТТН): 20450000000001",
                     f"Відстежити посилку: {NP_LINK}20450000000001", "Куди: Київ, Відділення №33",
                     "Орієнтовна дата доставки: 09.12.2026",
                     f"Сплатити при отриманні (накладений платіж): 5{NBSP}100,00{NBSP}грн",
                     f"- Кросівки: 2 шт. × 2{NBSP}200,00{NBSP}грн = 4{NBSP}400,00{NBSP}грн",
                     f"- Останні кеди: 1 шт. × 700,00{NBSP}грн = 700,00{NBSP}грн",
                     f"Разом: 5{NBSP}100,00{NBSP}грн", "Демо-магазин, https://demo.shopsync.example"):
        assert expected in text, expected
    html = first.body("html")
    assert f'<a href="{NP_LINK}20450000000001">' in html
    assert f"<strong>5{NBSP}100,00{NBSP}грн</strong>" in html
    assert "<strong>20450000000001</strong>" in html
    second = mails["buyer2@example.com"].body("plain")
    assert "Номер накладної (ТТН): 20450000000002" in second
    assert "Накладеного платежу немає" in second and "Сплатити при отриманні" not in second
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "sent", 1),
                                 ("P-2", "waybill", "buyer2@example.com", "sent", 1)]
    assert scalar(shop_db, "SELECT min(sent_at) FROM buyer_messages") == NOW


def test_a_second_run_sends_nothing_again(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")

    first, second = run(shop_db), run(shop_db)

    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.received) == 1
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "sent", 1)]


def test_ukrposhta_waybill_links_to_its_tracking(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "0500012345678", carrier="ukrposhta")

    run(shop_db)

    text = smtp_server.received[0].body("plain")
    assert "Перевізник: Укрпошта" in text
    assert "https://track.ukrposhta.ua/tracking_UA.html?barcode=0500012345678" in text


def test_no_mail_for_a_shipment_not_created_or_an_invoice_no_longer_shipped(shop_db: Engine,
                                                                           smtp_server: SmtpServer) -> None:
    waiting = applied(shop_db, "P-1", buyer(1), payment_status="paid")
    execute(shop_db, "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key)"
                     " VALUES (:s, :i, 'nova_poshta', 'creating', 'demo-P-1-1')", s=SHOP, i=waiting)
    delivered = shipped(shop_db, "P-2", buyer(2), "20450000000002")
    with shop_db.begin() as conn:
        workflow.deliver(conn, delivered, cod_received=False)

    summary = run(shop_db)

    assert summary.sent == 0 and smtp_server.received == []


# --- no address ----------------------------------------------------------------------------------

def test_a_buyer_without_an_email_address_is_skipped_and_counted_until_one_is_known(
        shop_db: Engine, smtp_server: SmtpServer) -> None:
    invoice_id = shipped(shop_db, "P-1", buyer(1, email=None), "20450000000001")
    shipped(shop_db, "P-2", buyer(2, email="not an address"), "20450000000002")

    summary = run(shop_db)

    assert (summary.sent, summary.skipped_no_email) == (0, 2)
    assert "2 without an e-mail address" in summary.line()
    assert smtp_server.received == [] and messages(shop_db) == []

    execute(shop_db, "UPDATE customers SET email = 'late@example.com' WHERE id ="
                     " (SELECT customer_id FROM invoices WHERE id = :i)", i=invoice_id)
    later = run(shop_db)

    assert (later.sent, later.skipped_no_email) == (1, 1)
    assert [mail.rcpt_tos for mail in smtp_server.received] == [["late@example.com"]]


# --- failures ------------------------------------------------------------------------------------

def test_smtp_down_leaves_failed_messages_that_the_next_run_sends(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")

    down = run(shop_db, conn=closed_connection())

    assert (down.sent, down.failed, down.deferred) == (0, 1, 1)
    assert "1 failed" in down.line() and "1 waiting for the mail server" in down.line()
    assert "cannot connect" in down.problems[0] and "ConnectionRefusedError" in down.problems[0]
    # the server's outage uses up no try of the message
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "failed", 0)]
    assert "cannot connect" in scalar(shop_db, "SELECT last_error FROM buyer_messages")

    up = run(shop_db)

    assert (up.sent, up.failed) == (2, 0)
    assert sorted(by_recipient(smtp_server)) == ["buyer1@example.com", "buyer2@example.com"]
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "sent", 1),
                                 ("P-2", "waybill", "buyer2@example.com", "sent", 1)]


def test_a_message_left_sending_by_a_killed_run_becomes_unknown_and_is_not_sent(
        shop_db: Engine, smtp_server: SmtpServer) -> None:
    invoice_id = shipped(shop_db, "P-1", buyer(1), "20450000000001")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")
    execute(shop_db, "INSERT INTO buyer_messages (invoice_id, kind, recipient, state, attempts)"
                     " VALUES (:i, 'waybill', 'buyer1@example.com', 'sending', 1)", i=invoice_id)

    summary, again = run(shop_db), run(shop_db)

    assert (summary.sent, summary.unknown, again.sent, again.unknown) == (1, 1, 0, 0)
    assert [mail.rcpt_tos for mail in smtp_server.received] == [["buyer2@example.com"]]
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "unknown", 1),
                                 ("P-2", "waybill", "buyer2@example.com", "sent", 1)]
    assert "the buyer may have it" in scalar(shop_db, "SELECT last_error FROM buyer_messages WHERE state = 'unknown'")


CHILD = """
import sys
import sqlalchemy as sa
from shopsync.core.config import ShopSettings
from shopsync.orders.fulfilment.notify import send_buyer_messages
from shopsync.transport.smtp import smtp_connection

send_buyer_messages(sa.create_engine(sys.argv[1]), ShopSettings.model_validate_json(sys.argv[2]), smtp_connection())
"""


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_kill_9_while_the_server_takes_the_mail_then_a_rerun(shop_db: Engine, db_url: str,
                                                             smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")
    smtp_server.hold_data = True                 # the server has P-1's mail and keeps its answer back
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, shop().model_dump_json()],
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        wait_for(lambda: len(smtp_server.received) == 1, "the child's mail never reached the server")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        smtp_server.hold_data = False
    assert child.returncode == -signal.SIGKILL
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "sending", 1)]
    wait_for(lambda: not scalar(shop_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                         " AND classid = 7420041"), "the killed run's lock was never released")

    rerun = run(shop_db)

    assert (rerun.sent, rerun.unknown) == (1, 1)
    assert [mail.rcpt_tos for mail in smtp_server.received] == [["buyer1@example.com"], ["buyer2@example.com"]]
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "unknown", 1),
                                 ("P-2", "waybill", "buyer2@example.com", "sent", 1)]


def test_a_line_broken_while_the_server_takes_the_mail_is_unknown_and_not_sent_again(
        shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    smtp_server.drop_after_data = True

    cut = run(shop_db)
    smtp_server.drop_after_data = False
    again = run(shop_db)

    assert (cut.sent, cut.unknown, again.sent) == (0, 1, 0)
    assert len(smtp_server.received) == 1
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "unknown", 1)]


def test_a_mailbox_refusing_for_now_is_tried_three_times_in_all(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    smtp_server.rcpt_replies["buyer1@example.com"] = "450 4.2.1 mailbox busy"

    failures = [run(shop_db).failed for _ in range(4)]
    smtp_server.rcpt_replies.clear()
    after = run(shop_db)

    assert failures == [1, 1, 1, 0]
    assert after.sent == 0 and smtp_server.received == []
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "failed", 3)]
    assert "450 4.2.1 mailbox busy" in scalar(shop_db, "SELECT last_error FROM buyer_messages")


def test_an_address_refused_for_good_is_not_tried_again(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")
    smtp_server.rcpt_replies["buyer1@example.com"] = "550 5.1.1 no such user"

    first, second = run(shop_db), run(shop_db)

    assert (first.sent, first.failed, second.failed) == (1, 1, 0)
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "failed", 3),
                                 ("P-2", "waybill", "buyer2@example.com", "sent", 1)]
    assert scalar(shop_db, "SELECT last_error FROM buyer_messages WHERE state = 'failed'").startswith("refused: ")


def test_a_refused_login_stops_the_run_without_using_up_tries(shop_db: Engine, smtp_server: SmtpServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    shipped(shop_db, "P-2", buyer(2), "20450000000002")
    caplog.set_level(logging.DEBUG)
    wrong = parse_connection("smtp_default", smtp_server.connection_json(password="Wr0ng-Passw0rd"))

    with pytest.raises(RemoteRejected) as caught:
        run(shop_db, conn=wrong)

    assert caught.value.code == "login" and not caught.value.retryable
    assert messages(shop_db) == [("P-1", "waybill", "buyer1@example.com", "failed", 0)]
    assert "Wr0ng-Passw0rd" not in str(caught.value) + caplog.text
    assert "Wr0ng-Passw0rd" not in scalar(shop_db, "SELECT last_error FROM buyer_messages")

    assert run(shop_db).sent == 2


def test_no_sender_address_is_a_settings_error(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    bare = ConnectionInfo(conn_id="smtp_default", host=smtp_server.host, port=smtp_server.port, login="alerts",
                          password=PASSWORD, extra={"disable_ssl": True, "disable_tls": True})

    with pytest.raises(ConfigError, match="set fulfilment.mail_from in the shop file"):
        run(shop_db, settings=shop(fulfilment={}), conn=bare)

    assert messages(shop_db) == [] and smtp_server.received == []


def test_the_connection_from_address_serves_when_the_shop_names_none(shop_db: Engine,
                                                                    smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")

    run(shop_db, settings=shop(fulfilment={}))

    assert smtp_server.received[0].mail_from == "shopsync@example.com"       # the connection's from_email


def test_another_run_of_the_shop_holding_the_lock_is_left_alone(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")

    with session_lock(shop_db, BUYER_MAIL, SHOP) as held_elsewhere:
        assert held_elsewhere
        busy = run(shop_db)

    assert busy.sent == 0 and "another run is sending this shop's buyer mail" in busy.line()
    assert smtp_server.received == [] and messages(shop_db) == []
    assert run(shop_db).sent == 1


def test_buyer_emails_can_be_turned_off(shop_db: Engine, smtp_server: SmtpServer) -> None:
    shipped(shop_db, "P-1", buyer(1), "20450000000001")

    summary = run(shop_db, settings=shop(fulfilment={"buyer_emails": False}))

    assert summary.sent == 0 and "buyer e-mails are off" in summary.line()
    assert smtp_server.received == []


# --- the payment request -------------------------------------------------------------------------

def test_payment_request_with_the_bank_details_and_the_amount_left_to_pay(shop_db: Engine,
                                                                         smtp_server: SmtpServer) -> None:
    invoice_id = applied(shop_db, "P-1", buyer(1))                              # unpaid: to prepay
    execute(shop_db, "INSERT INTO payments (invoice_id, kind, amount, reference) VALUES (:i, 'prepayment', 100, 'b1')",
            i=invoice_id)
    applied(shop_db, "P-2", buyer(2), payment_status="cod")                    # cash on delivery: no request
    applied(shop_db, "P-3", buyer(3), payment_status="paid")                   # paid: no request
    execute(shop_db, "UPDATE invoices SET status = 'ready' WHERE id = :i", i=invoice_id)

    summary, again = run(shop_db), run(shop_db)

    assert (summary.sent, again.sent) == (1, 0)
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.rcpt_tos == ["buyer1@example.com"]
    assert mail.message["Subject"] == "Демо-магазин: рахунок на оплату замовлення №P-1"
    text = mail.body("plain")
    for expected in ("Отримувач: ТОВ «Демо Рітейл»", "IBAN: UA213223130000026007233566001", "ЄДРПОУ: 12345678",
                     "Банк: АТ «Приклад Банк»", f"Разом: 5{NBSP}100,00{NBSP}грн",
                     f"Уже сплачено: 100,00{NBSP}грн", f"Сума: 5{NBSP}000,00{NBSP}грн",
                     "Призначення платежу: Оплата за замовлення №P-1"):
        assert expected in text, expected
    html = mail.body("html")
    assert "<code>UA213223130000026007233566001</code>" in html
    assert "ТОВ «Демо Рітейл»" in html and "Оплата за замовлення №P-1" in html
    assert f"<strong>5{NBSP}000,00{NBSP}грн</strong>" in html
    assert messages(shop_db) == [("P-1", "payment_request", "buyer1@example.com", "sent", 1)]


def test_the_same_invoice_gets_its_payment_request_and_later_its_waybill_once_each(
        shop_db: Engine, smtp_server: SmtpServer) -> None:
    invoice_id = applied(shop_db, "P-1", buyer(1))
    run(shop_db)
    execute(shop_db, "UPDATE invoices SET payment_status = 'paid' WHERE id = :i", i=invoice_id)
    with shop_db.begin() as conn:
        note_id = workflow.ship(conn, invoice_id, "nova_poshta", "20450000000001")
    execute(shop_db, "INSERT INTO shipments (shop_id, invoice_id, carrier, state, client_key, waybill_number,"
                     " delivery_note_id) VALUES (:s, :i, 'nova_poshta', 'created', 'k1', '20450000000001', :n)",
            s=SHOP, i=invoice_id, n=note_id)
    run(shop_db)
    run(shop_db)

    assert [mail.message["Subject"] for mail in smtp_server.received] == [
        "Демо-магазин: рахунок на оплату замовлення №P-1",
        "Демо-магазин: замовлення №P-1 відправлено, ТТН 20450000000001"]
    assert [row[1:4] for row in messages(shop_db)] == [("payment_request", "buyer1@example.com", "sent"),
                                                       ("waybill", "buyer1@example.com", "sent")]


def test_without_bank_details_no_payment_request_and_the_summary_says_so(shop_db: Engine,
                                                                         smtp_server: SmtpServer) -> None:
    applied(shop_db, "P-1", buyer(1))

    summary = run(shop_db, settings=shop(bank_details=None))

    assert summary.sent == 0 and smtp_server.received == []
    assert "1 invoice(s) to prepay but no bank_details in the shop file" in summary.line()


# --- what the mail must not carry ----------------------------------------------------------------

def test_a_hostile_name_and_comment_are_text_in_the_html(shop_db: Engine, smtp_server: SmtpServer) -> None:
    name = "<script>alert('x')</script> & Co"
    comment = 'Після 18:00 <img src=x onerror="alert(1)"> "дякую"'
    shipped(shop_db, "P-1", buyer(1, full_name=name), "20450000000001", comment=comment)
    applied(shop_db, "P-2", buyer(2, full_name=name), comment=comment)

    run(shop_db)

    assert len(smtp_server.received) == 2
    for mail in smtp_server.received:
        html = mail.body("html")
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
        assert "<script" not in html and "<img" not in html
        assert f"Вітаємо, {name}!" in mail.body("plain")
        assert comment in mail.body("plain")


def test_no_secret_in_any_mail_row_summary_or_log(shop_db: Engine, smtp_server: SmtpServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shipped(shop_db, "P-1", buyer(1), "20450000000001")
    applied(shop_db, "P-2", buyer(2))
    smtp_server.rcpt_replies["buyer2@example.com"] = "451 4.3.0 try later"
    summaries = [run(shop_db, conn=closed_connection()), run(shop_db)]
    smtp_server.rcpt_replies.clear()
    summaries.append(run(shop_db))

    assert [s.sent for s in summaries] == [0, 1, 1]
    seen = [caplog.text, *(json.dumps(s.as_json(), ensure_ascii=False) for s in summaries),
            *(str(value) for row in rows(shop_db, "SELECT * FROM buyer_messages") for value in row)]
    for mail in smtp_server.received:
        seen += [mail.raw.decode(), mail.body("plain"), mail.body("html")]
    for text in seen:
        assert PASSWORD not in text
    assert "cannot connect" in caplog.text and "451 4.3.0 try later" in caplog.text
