"""A real SMTP server (aiosmtpd) on 127.0.0.1 requiring a login, set as the Airflow Connection smtp_default:
for the alert tests (tests/airflow/), the DAG runs that send one (tests/dags/) and the buyer mail
(tests/transport/test_smtp.py, tests/orders/fulfilment/). Faults: `rcpt_replies` (address -> reply, e.g.
"550 5.1.1 no such user"), `data_reply` (the reply to every DATA), `drop_after_data` (the server keeps the
message but closes the connection before its answer), `hold_data` (the server keeps the message and waits
with its answer while this is true: a client can be killed meanwhile)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shopsync.airflow.alerts import SMTP_CONN_ID_ENV

LOGIN = "alerts"
PASSWORD = "Sm7p-S3cret!pw"     # distinctive, so a leak into the mail is easy to find
SENDER = "shopsync@example.com"
RECIPIENTS = ["ops@example.com", "owner@example.com"]


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        assert part.get_content_type() == f"text/{subtype}"
        return part.get_content()


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    drop_after_data: bool = False
    hold_data: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 - aiosmtpd's
                          rcpt_options: list[str]) -> str:
        if reply := self.rcpt_replies.get(address):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.data_reply:
            return self.data_reply
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.lock:
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        if self.drop_after_data:
            server.transport.close()
        while self.hold_data:
            await asyncio.sleep(0.02)
        return "250 Message accepted"

    def connection_json(self, password: str = PASSWORD) -> str:
        return json.dumps({"conn_type": "smtp", "host": self.host, "port": self.port, "login": LOGIN,
                           "password": password, "extra": {"from_email": SENDER, "disable_tls": True,
                                                           "disable_ssl": True, "timeout": 5, "retry_limit": 0}})

    def connection_uri(self) -> str:
        return (f"smtp://{LOGIN}:{quote(PASSWORD, safe='')}@{self.host}:{self.port}"
                f"?disable_tls=true&disable_ssl=true&from_email={quote(SENDER)}&timeout=5")


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == LOGIN.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, auth_data=data) if ok else AuthResult(success=False, handled=False)  # -> 535


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A local SMTP server requiring a login (no TLS), set as the Airflow Connection smtp_default."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    state = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(state, hostname=state.host, port=state.port,
                            authenticator=_authenticate, auth_required=True, auth_require_tls=False)
    controller.start()
    monkeypatch.delenv(SMTP_CONN_ID_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", state.connection_json())
    yield state
    controller.stop()
