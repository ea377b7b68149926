"""Failure alerts: an e-mail to the shop's `alert_emails` when a task has failed for good.

`make_failure_alert(recipients, shop_id)` gives the `on_failure_callback` (set through
`default_args(shop)`). Airflow 3 runs it in the task's own process after the last try failed,
with the task context: `ti`, `dag_run`, `exception`, `data_interval_start` / `_end`.

Sending: through the SMTP provider's `SmtpHook` and the Airflow Connection named by
`SHOPSYNC_ALERT_SMTP_CONN_ID` (default `smtp_default`), e.g. from the environment:

    AIRFLOW_CONN_SMTP_DEFAULT='{"conn_type": "smtp", "host": "mail.example.com", "port": 587,
        "login": "alerts", "password": "...", "extra": {"from_email": "shopsync@example.com"}}'

Extras: `from_email` (else shopsync@localhost), `disable_tls` (skip STARTTLS), `disable_ssl`
(plain SMTP instead of SMTPS on 465: set it for port 25/587), `timeout`, `retry_limit`.

Decisions:
- Connection lookup works inside and outside a task (checked with Airflow 3.3.2, task SDK 1.3.2):
  `SmtpHook.get_connection` -> `Connection.get` -> the secrets backends. Inside a task that is the
  environment (`AIRFLOW_CONN_*`), then the API server (connections kept in the metadata DB); outside
  a task (CLI, tests) only the environment and configured external backends. So a connection kept
  only in the metadata DB cannot be used outside a task: that alert is logged as not sent.
- The hook connects and logs in (STARTTLS / SSL / retries as the connection says), but the message
  is sent with the hook's SMTP client: `SmtpHook.send_email_smtp` sends an HTML part only, and the
  alert has a plain-text part for mail clients and filters that read text.
- Nothing here raises: a broken mail server must not hide the task's own failure, so any error in
  building or sending the alert is logged and swallowed.
- No secrets: the SMTP password, the secrets of every connection shopsync looked up in this process
  (passwords, key extras) and credentials inside URLs are replaced by *** in every field. Airflow's own
  log masker is not public API (docs/decisions.md, "Alerts hide secrets without Airflow's private masker").

This module imports Airflow lazily (inside functions), like `shopsync.airflow.tasks`.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from shopsync.core.paths import include_dir
from shopsync.transport.smtp import SMTP_CONN_ID_ENV as SMTP_CONN_ID_ENV  # the tests read it here
from shopsync.transport.smtp import smtp_conn_id

log = logging.getLogger(__name__)

DEFAULT_SENDER = "shopsync@localhost"
TEXT_TEMPLATE = "alert_email.txt.j2"
HTML_TEMPLATE = "alert_email.html.j2"
MAX_ERROR_LINES = 15
MAX_ERROR_LINE_CHARS = 500
REPORT_PATH = re.compile(r"Report: (?P<path>\S+)")

DEFAULT_HINT = "See the task log (link above) for the full traceback; clear the task to run it again."
HINTS: dict[str, str] = {    # by exception class name: the first class in the exception's MRO that is listed wins
    "FeedValidationError": (
        "A feed failed validation, so nothing was published: the last good feed stays published. {report}"
    ),
    "DatabaseUnavailable": (
        "The accounting database did not answer or refused the login: check the Airflow Connection "
        "shopsync_accounting (or SHOPSYNC_DB_URL): host, port, database, login; and that the server is up."
    ),
    "PublishError": (
        "The destination was unreachable or refused the files (after retries). A local destination still "
        "shows the last complete set. On FTP, SFTP or HTTP the new files were sent under temporary names "
        "and renamed into place only once all had arrived, manifest.json last; a publish cut off while "
        "renaming may have left some new files beside the old manifest: the next run finishes or rolls back "
        "that publish before anything else and removes its temporary files. Check the destination's "
        "connection and server, then clear the task."
    ),
    "ShrinkGuardError": (
        "Nothing was published: a feed would lose more than the shop's max_drop_percent of the offers of the "
        "last published one (an empty or half-loaded database looks like this); the published feeds stay. "
        "Check the accounting database first. If the drop is intended, run the command the error names "
        "(`shopsync export --shop <id> --allow-shrink`), or trigger the DAG with {{\"allow_shrink\": true}}."
    ),
    "StaleDataError": (
        "Nothing was published: another export of this shop published or merged data read later than this "
        "run's, so the destination already shows newer data. No action is needed: the next run publishes "
        "fresh data (clear this DAG run from its first task to do it now). After restoring the database to "
        "an earlier state, run `shopsync export --shop <id> --ignore-publish-order` once, or trigger the DAG "
        "with {{\"ignore_publish_order\": true}}."
    ),
    "InboxError": (
        "The orders inbox could not be listed, read or tidied (after retries): check the inbox's "
        "connection and server, then clear the task."
    ),
    "DatabaseUrlError": (
        "The accounting database URL is empty or cannot be read: fix the Airflow Connection shopsync_accounting "
        "(or SHOPSYNC_DB_URL); special characters in the password must be URL-encoded (@ as %40)."
    ),
    "ConfigError": "The shop settings are missing or invalid: the error names the file and the key to fix.",
    "AirflowTaskTimeout": "The task ran longer than its execution_timeout and was stopped.",
}


@dataclass(frozen=True)
class FailureReport:
    """What an alert says about one failed task; every field is plain text (escaped only for HTML)."""

    shop_id: str
    dag_id: str
    dag_label: str
    run_id: str
    task_label: str
    try_number: int
    total_tries: int
    interval: str
    error_type: str
    error_text: str
    log_url: str
    hint: str
    permanent: bool = False          # the error says a retry cannot help: the task failed at once

    @property
    def outcome(self) -> str:
        """What became of the task, in one sentence."""
        if self.permanent:
            return f"It failed at once, without retries: a {self.error_type} cannot pass on a retry."
        return f"It failed for good on try {self.try_number} of {self.total_tries}."

    @property
    def error_lines(self) -> list[str]:
        return self.error_text.splitlines() or [""]

    @property
    def subject(self) -> str:
        subject = (f"[shopsync] shop {self.shop_id}: {self.dag_label} failed: task {self.task_label} "
                   f"(try {self.try_number}/{self.total_tries})")
        return " ".join(subject.split())     # one header line, whatever the ids contain

    def without(self, secrets: Iterable[str]) -> FailureReport:
        """The same report with the secrets and any credentials in URLs replaced by ***."""
        known = list(secrets)
        cleaned = {f.name: redact_text(value, known) for f in fields(self)
                   if isinstance(value := getattr(self, f.name), str)}
        return replace(self, **cleaned)


@dataclass(frozen=True)
class RenderedAlert:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class FailureAlert:
    """The `on_failure_callback` of one shop's tasks: mails the failure to `recipients`, never raises."""

    recipients: tuple[str, ...]
    shop_id: str

    def __call__(self, context: Mapping[str, Any]) -> None:
        try:
            report = build_report(context, self.shop_id)
        except Exception as exc:  # noqa: BLE001 - an odd context must not raise from a callback
            log.error("failure alert for shop %s: cannot read the task context (%s: %s)",
                      self.shop_id, type(exc).__name__, exc)
            return
        if not self.recipients:
            log.info("failure alert not sent: shop %s has no alert_emails (%s)", self.shop_id, report.subject)
            return
        conn_id = smtp_conn_id()
        try:
            send_alert(report, self.recipients, conn_id)
        except Exception as exc:  # noqa: BLE001 - a broken mail server must not mask the task's failure
            log.error("failure alert NOT sent to %s via SMTP connection %r: %s: %s (%s)",
                      ", ".join(self.recipients), conn_id, type(exc).__name__, redact_text(str(exc), []),
                      report.subject)
            log.debug("failure alert traceback", exc_info=True)
            return
        log.info("failure alert sent to %s: %s", ", ".join(self.recipients), report.subject)


def make_failure_alert(recipients: Iterable[str], shop_id: str) -> Callable[[Mapping[str, Any]], None]:
    """An `on_failure_callback` mailing a shop's task failures to `recipients` (none: only logs)."""
    return FailureAlert(recipients=tuple(recipients), shop_id=shop_id)


# --- the report ----------------------------------------------------------------------------------

def build_report(context: Mapping[str, Any], shop_id: str) -> FailureReport:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = str(_attr(ti, "dag_id") or _attr(context.get("dag"), "dag_id") or "?")
    error = context.get("exception")
    return FailureReport(
        shop_id=shop_id,
        dag_id=dag_id,
        dag_label=dag_label(dag_id, shop_id),
        run_id=str(_attr(ti, "run_id") or _attr(dag_run, "run_id") or context.get("run_id") or "?"),
        task_label=task_label(ti),
        try_number=int(_attr(ti, "try_number") or 0),
        total_tries=int(_attr(ti, "max_tries") or 0) + 1,
        interval=interval_text(context, dag_run),
        error_type=error_type(error),
        error_text=error_text(error),
        log_url=str(_attr(ti, "log_url") or ""),
        hint=hint_for(error),
        permanent=getattr(error, "retryable", True) is False,
    )


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - a property (e.g. log_url reading the config) may fail
        return None


def dag_label(dag_id: str, shop_id: str) -> str:
    """shop_demo__catalog_export -> "catalog export"; any other DAG id is shown as it is."""
    prefix = f"shop_{shop_id}__"
    return dag_id.removeprefix(prefix).replace("_", " ") if dag_id.startswith(prefix) else dag_id


def task_label(ti: Any) -> str:
    task_id = str(_attr(ti, "task_id") or "?")
    map_index = _attr(ti, "map_index")
    return f"{task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else task_id


def interval_text(context: Mapping[str, Any], dag_run: Any) -> str:
    start = context.get("data_interval_start") or _attr(dag_run, "data_interval_start")
    end = context.get("data_interval_end") or _attr(dag_run, "data_interval_end")
    if start is None or end is None:
        return "none (asset-triggered or manual run)"
    return f"{_timestamp(start)} .. {_timestamp(end)}"


def _timestamp(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def error_type(error: BaseException | str | None) -> str:
    return type(error).__name__ if isinstance(error, BaseException) else "error"


def error_text(error: BaseException | str | None) -> str:
    """The error message's first lines (the full traceback is in the task log)."""
    if error is None:
        return "(Airflow gave no exception: see the task log)"
    lines = str(error).strip().splitlines() or ["(no message)"]
    shown = [_shorten(line) for line in lines[:MAX_ERROR_LINES]]
    if len(lines) > MAX_ERROR_LINES:
        shown.append(f"... ({len(lines) - MAX_ERROR_LINES} more lines in the task log)")
    return "\n".join(shown)


def _shorten(line: str) -> str:
    return line if len(line) <= MAX_ERROR_LINE_CHARS else line[:MAX_ERROR_LINE_CHARS] + " ..."


def hint_for(error: BaseException | str | None) -> str:
    if not isinstance(error, BaseException):
        return DEFAULT_HINT
    for cls in type(error).__mro__:
        if cls.__name__ in HINTS:
            return HINTS[cls.__name__].format(report=_report_sentence(str(error))).strip()
    return DEFAULT_HINT


def _report_sentence(message: str) -> str:
    match = REPORT_PATH.search(message)
    if match:
        return f"See the validation report at {match.group('path')}."
    return "The goods and the rules they broke are listed in the error below."


# --- secrets -------------------------------------------------------------------------------------

def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Text safe to mail: the given secrets, those of every connection looked up in this process, URL
    passwords (user part and query string) and `password=` settings replaced by ***."""
    from shopsync.core import redaction
    from shopsync.transport.connections import seen_secrets

    return redaction.redact_text(text, [*secrets, *seen_secrets()])


# --- rendering and sending -----------------------------------------------------------------------

def render_alert(report: FailureReport) -> RenderedAlert:
    """Subject, plain text and HTML (autoescaped) from include/templates/alert_email.*.j2."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(include_dir() / "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )
    values = {"report": report}
    return RenderedAlert(
        subject=report.subject,
        text=environment.get_template(TEXT_TEMPLATE).render(values),
        html=environment.get_template(HTML_TEMPLATE).render(values),
    )


def compose_message(alert: RenderedAlert, sender: str, recipients: Iterable[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=_sender_domain(sender))
    message["Auto-Submitted"] = "auto-generated"      # RFC 3834: no auto-replies to alerts
    message.set_content(alert.text)
    message.add_alternative(alert.html, subtype="html")
    return message


def _sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">") or socket.getfqdn()


def send_alert(report: FailureReport, recipients: Iterable[str], conn_id: str) -> None:
    """Connect and log in with SmtpHook (connection `conn_id`), then send the alert. Raises on failure."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    recipients = list(recipients)
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        safe_report = report.without([hook.smtp_password])
        sender = hook.from_email or DEFAULT_SENDER
        message = compose_message(render_alert(safe_report), sender, recipients)
        _smtp_client(hook).send_message(message, from_addr=sender, to_addrs=recipients)


def _smtp_client(hook: Any) -> Any:
    """The smtplib client SmtpHook opened (get_conn); the hook keeps it in `_smtp_client`."""
    client = getattr(hook, "_smtp_client", None)
    if client is None or not hasattr(client, "send_message"):
        raise RuntimeError("SmtpHook opened no smtplib client: the smtp provider's API changed")
    return client
