"""Failure alerts sent through Airflow's SmtpHook to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest

# Like `make test`: Airflow (imported by the alert when it sends) keeps its files in the checkout, not ~/airflow
os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[2] / "airflow_home"))

from mail_server import LOGIN, PASSWORD, RECIPIENTS, SENDER, SmtpServer, free_port  # noqa: E402 - fixture smtp_server

from shopsync.airflow.alerts import SMTP_CONN_ID_ENV, build_report, hint_for, make_failure_alert, render_alert  # noqa: E402
from shopsync.catalog.guards import ShrinkGuardError, StaleDataError  # noqa: E402
from shopsync.catalog.validation.rules import FeedValidationError  # noqa: E402
from shopsync.core.errors import DatabaseUnavailable  # noqa: E402
from shopsync.transport.base import PublishError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

REPORT = "/srv/shopsync/.local/runs/demo/validation-report.md"
LOG_URL = ("http://airflow.example.com:8080/dags/shop_demo__catalog_export/runs/"
           "scheduled__2026-11-01T03%3A00%3A00%2B00%3A00/tasks/transform.write_feeds?try_number=2")


@pytest.fixture(autouse=True)
def _airflow_logging_set_up() -> None:
    """Importing Airflow sets up logging and replaces the root logger's handlers: done before each test's call,
    so that the first import, inside an alert, does not drop the handler caplog reads (the test of an
    unreachable server failed when it ran first in its process)."""
    import airflow.providers.smtp.hooks.smtp  # noqa: F401


def failure_context(error: BaseException | str | None, map_index: int = -1) -> dict[str, Any]:
    """What Airflow 3 passes to an on_failure_callback, as far as the alert reads it."""
    start, end = datetime(2026, 11, 1, 2, tzinfo=UTC), datetime(2026, 11, 1, 3, tzinfo=UTC)
    run_id = "scheduled__2026-11-01T03:00:00+00:00"
    ti = SimpleNamespace(dag_id="shop_demo__catalog_export", task_id="transform.write_feeds", run_id=run_id,
                         try_number=2, max_tries=3, map_index=map_index, log_url=LOG_URL)
    dag_run = SimpleNamespace(run_id=run_id, data_interval_start=start, data_interval_end=end)
    return {"ti": ti, "task_instance": ti, "dag_run": dag_run, "run_id": run_id, "exception": error,
            "data_interval_start": start, "data_interval_end": end}


def validation_error() -> FeedValidationError:
    return FeedValidationError(
        "1 feed(s) failed validation and were not published; the last good feeds stay in place. "
        f"Report: {REPORT}\n"
        "offers.xml: name must not contain markup: <script>alert('x')</script> & Co\n"
        "Товар «Сукня» has no price\n"
        f"while logging in as {LOGIN} with {PASSWORD} to postgresql://shopsync:{PASSWORD}@db:5432/retail"
    )


def test_failure_alert_mails_text_and_html_to_the_shop(smtp_server: SmtpServer) -> None:
    make_failure_alert(RECIPIENTS, "demo")(failure_context(validation_error()))

    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.login == LOGIN                      # the hook logged in with the connection's credentials
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == RECIPIENTS
    message = mail.message
    assert message["Subject"] == ("[shopsync] shop demo: catalog export failed: task transform.write_feeds "
                                  "(try 2/4)")
    assert message["To"] == ", ".join(RECIPIENTS)
    assert message["From"] == SENDER
    assert message.get_content_type() == "multipart/alternative"

    text = mail.body("plain")
    for expected in ("shop_demo__catalog_export", "scheduled__2026-11-01T03:00:00+00:00", "transform.write_feeds",
                     "2 of 4", "2026-11-01T02:00:00+00:00 .. 2026-11-01T03:00:00+00:00", "FeedValidationError",
                     "failed validation and were not published", "<script>alert('x')</script> & Co",
                     "Товар «Сукня» has no price", LOG_URL, "the last good feed stays published",
                     f"See the validation report at {REPORT}"):
        assert expected in text, expected

    html = mail.body("html")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html
    assert f'<a href="{LOG_URL}">' in html
    assert "transform.write_feeds" in html and "FeedValidationError" in html and "Товар «Сукня»" in html


def test_no_secret_reaches_the_mail(smtp_server: SmtpServer) -> None:
    make_failure_alert(RECIPIENTS, "demo")(failure_context(validation_error()))

    mail = smtp_server.received[0]
    decoded = "\n".join([str(mail.message), mail.body("plain"), mail.body("html")])
    for secret in (PASSWORD, quote(PASSWORD, safe=""), PASSWORD.replace("!", "&#33;")):
        assert secret.encode() not in mail.raw
        assert secret not in decoded
    assert "postgresql://shopsync:***@db:5432/retail" in mail.body("plain")


def test_secrets_of_connections_looked_up_in_the_process_do_not_reach_the_mail(
        smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from shopsync.transport.connections import get_connection

    ftp_password, key_passphrase = "Ftp-Pw-7731!", "Key-Phrase-0042"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FTP", json.dumps({
        "conn_type": "ftp", "host": "ftp.example.com", "login": "shop", "password": ftp_password,
        "extra": {"private_key_passphrase": key_passphrase}}))
    get_connection("shop_ftp")                          # as a publish or an inbox does before it fails

    make_failure_alert(RECIPIENTS, "demo")(failure_context(
        PublishError(f"530 login as shop with {ftp_password} refused; key passphrase {key_passphrase}")))

    mail = smtp_server.received[0]
    assert "530 login as shop with *** refused; key passphrase ***" in mail.body("plain")
    for secret in (ftp_password, key_passphrase):
        assert secret.encode() not in mail.raw and secret not in mail.body("plain")


def test_connection_id_from_the_environment_and_uri_form(smtp_server: SmtpServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    monkeypatch.setenv(SMTP_CONN_ID_ENV, "shopsync_alerts")
    monkeypatch.setenv("AIRFLOW_CONN_SHOPSYNC_ALERTS", smtp_server.connection_uri())

    make_failure_alert(["ops@example.com"], "demo")(failure_context(DatabaseUnavailable("connection refused")))

    assert [mail.rcpt_tos for mail in smtp_server.received] == [["ops@example.com"]]
    assert "check the Airflow Connection shopsync_accounting" in smtp_server.received[0].body("plain")


def test_no_recipients_sends_nothing_and_says_so(smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shopsync.airflow.alerts")

    make_failure_alert([], "demo")(failure_context(validation_error()))

    assert smtp_server.received == []
    assert "failure alert not sent: shop demo has no alert_emails" in caplog.text


def test_unreachable_smtp_server_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    closed = SmtpServer(host="127.0.0.1", port=free_port())       # nothing listens there
    monkeypatch.delenv(SMTP_CONN_ID_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", closed.connection_json())
    caplog.set_level(logging.INFO, logger="shopsync.airflow.alerts")

    make_failure_alert(RECIPIENTS, "demo")(failure_context(validation_error()))

    errors = [record for record in caplog.records if record.name == "shopsync.airflow.alerts"
              and record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "failure alert NOT sent to ops@example.com, owner@example.com" in errors[0].getMessage()
    assert "ConnectionRefusedError" in errors[0].getMessage()
    assert PASSWORD not in caplog.text


def test_wrong_smtp_password_is_logged_not_raised(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.connection_json(password="Wr0ng-Passw0rd"))
    caplog.set_level(logging.INFO, logger="shopsync.airflow.alerts")

    make_failure_alert(RECIPIENTS, "demo")(failure_context(validation_error()))

    assert smtp_server.received == []
    assert "SMTPAuthenticationError" in caplog.text
    assert "Wr0ng-Passw0rd" not in caplog.text


def test_undefined_smtp_connection_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(SMTP_CONN_ID_ENV, "shopsync_no_such_smtp")
    caplog.set_level(logging.INFO, logger="shopsync.airflow.alerts")

    make_failure_alert(RECIPIENTS, "demo")(failure_context(validation_error()))

    assert "via SMTP connection 'shopsync_no_such_smtp'" in caplog.text


@pytest.mark.parametrize(("error", "hint"), [
    (PublishError("sftp: connection refused"), "the next run finishes or rolls back that publish before"),
    (ShrinkGuardError("rozetka.xml: 1,000 -> 0 rows"), "--allow-shrink`), or trigger the DAG with"),
    (StaleDataError("newer data published"), "--ignore-publish-order` once, or trigger the DAG"),
    (DatabaseUnavailable("timeout"), "check the Airflow Connection shopsync_accounting"),
    (FeedValidationError("3 goods failed the item checks"), "The goods and the rules they broke are listed"),
    (ValueError("boom"), "See the task log"),
    ("killed: heartbeat timeout", "See the task log"),
])
def test_hint_per_failure_kind(error: BaseException | str, hint: str) -> None:
    alert = render_alert(build_report(failure_context(error), "demo"))

    assert hint in alert.text
    assert hint in alert.html


def test_mapped_task_without_data_interval_or_exception() -> None:
    context = failure_context(None, map_index=3)
    del context["data_interval_start"], context["data_interval_end"]
    context["dag_run"].data_interval_start = context["dag_run"].data_interval_end = None

    report = build_report(context, "demo")

    assert report.subject.endswith("task transform.write_feeds[3] (try 2/4)")
    assert report.interval == "none (asset-triggered or manual run)"
    assert "Airflow gave no exception" in render_alert(report).text


def test_a_broken_context_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shopsync.airflow.alerts")

    make_failure_alert(RECIPIENTS, "demo")({"ti": SimpleNamespace(try_number="not a number")})

    assert "cannot read the task context" in caplog.text


def test_no_database_password_of_any_shape_reaches_the_mail(smtp_server: SmtpServer) -> None:
    error = DatabaseUnavailable(
        "accounting database postgresql://shop:Pw-1@Xyzzy-42@db:5432/retail does not answer\n"
        "retried with postgresql://shop@db:5432/retail?sslmode=require&password=Qz-7Secret&connect_timeout=3\n"
        "and host=db user=shop password=Dsn-9Secret dbname=retail")

    make_failure_alert(RECIPIENTS, "demo")(failure_context(error))

    mail = smtp_server.received[0]
    decoded = "\n".join([str(mail.message), mail.body("plain"), mail.body("html")])
    for part in ("Pw-1", "Xyzzy-42", "Qz-7Secret", "Dsn-9Secret"):
        assert part not in decoded
    assert "postgresql://shop:***@db:5432/retail" in mail.body("plain")


@pytest.mark.parametrize(("error", "outcome"), [
    (validation_error(), "It failed at once, without retries: a FeedValidationError cannot pass on a retry."),
    (DatabaseUnavailable("connection refused"), "It failed for good on try 2 of 4."),
])
def test_the_alert_reads_in_order_what_failed_why_what_to_do_details(error: BaseException, outcome: str) -> None:
    alert = render_alert(build_report(failure_context(error), "demo"))

    for body in (alert.text, alert.html):
        what = body.index("catalog export failed at task")
        result = body.index(outcome)
        why = body.index(type(error).__name__)
        message = body.index(str(error).splitlines()[0][:40])
        hint = body.index(hint_for(error)[:40])
        details = body.index("shop_demo__catalog_export")
        log = body.index(LOG_URL)
        assert what < result < why < message < hint < details < log, body
