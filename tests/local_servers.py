"""Real FTP, SFTP and HTTP (PUT/POST, GET, HEAD, WebDAV MOVE and DELETE) servers on 127.0.0.1 (free ports,
temp dirs), one per test, stopped at its end."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit

import asyncssh
import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from shopsync.transport import RetryPolicy

# Like `make test`: Airflow (imported by a few tests) keeps its files in the checkout, not in ~/airflow
os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[1] / "airflow_home"))

USER = "shopsync"
PASSWORD = "Sup3r-S3cret!pw"    # distinctive, so a leak into logs or messages is easy to find
FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, backoff=2.0)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return FAST_RETRY


@pytest.fixture(autouse=True)
def _quiet_server_loggers() -> None:
    for name in ("pyftpdlib", "asyncssh", "paramiko"):
        logging.getLogger(name).setLevel(logging.WARNING)


# -- FTP ----------------------------------------------------------------------------------------------


@dataclass
class FtpServer:
    home: Path
    port: int = 0
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    on_file_received: list[Callable[[str], None]] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def uri(self) -> str:
        return f"ftp://{USER}:{quote(PASSWORD, safe='')}@{self.host}:{self.port}/"

    @property
    def json(self) -> str:
        return json.dumps({"conn_type": "ftp", "host": self.host, "port": self.port, "login": USER,
                           "password": PASSWORD, "extra": {"passive": True}})

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)


class _PlainFTPHandler(FTPHandler):
    """Like some older servers: no MLSD, and RNTO refuses to replace an existing file."""

    proto_cmds = {name: spec for name, spec in FTPHandler.proto_cmds.items() if name not in ("MLSD", "MLST")}

    def ftp_RNTO(self, path: str) -> tuple[str, str] | None:
        if os.path.exists(path):
            self._rnfr = None
            self.respond("550 File exists.")
            return None
        return super().ftp_RNTO(path)


def _start_ftp_server(home: Path, plain: bool = False) -> FtpServer:
    server_info = FtpServer(home=home)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")

    class Handler(_PlainFTPHandler if plain else FTPHandler):
        def on_file_received(self, file: str) -> None:
            for hook in server_info.on_file_received:
                hook(file)

    Handler.authorizer = authorizer
    Handler.auth_failed_timeout = 0.01  # pyftpdlib waits 3 s after a failed login by default
    server = FTPServer((server_info.host, 0), Handler)
    server_info.port = server.address[1]

    def serve() -> None:
        # One poll at a time so that stop() (or a hook) can end the server between two commands
        while not server_info.stop_event.is_set():
            server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)
        server.close_all()

    server_info.thread = threading.Thread(target=serve, name=f"ftp-{server_info.port}", daemon=True)
    server_info.thread.start()
    return server_info


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    home = tmp_path / "ftp_home"
    home.mkdir()
    server = _start_ftp_server(home)
    yield server
    server.stop()


@pytest.fixture
def plain_ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    home = tmp_path / "plain_ftp_home"
    home.mkdir()
    server = _start_ftp_server(home, plain=True)
    yield server
    server.stop()


# -- SFTP ---------------------------------------------------------------------------------------------


@dataclass
class SftpServer:
    home: Path
    host_public_key: str            # "ssh-ed25519 AAAA..."
    client_key_path: Path
    client_key_text: str
    port: int = 0
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    stopper: Callable[[], None] | None = None

    @property
    def password_uri(self) -> str:
        query = urlencode({"host_key": self.host_public_key})
        return f"sftp://{USER}:{quote(PASSWORD, safe='')}@{self.host}:{self.port}/?{query}"

    @property
    def key_file_uri(self) -> str:
        query = urlencode({"key_file": str(self.client_key_path), "host_key": self.host_public_key})
        return f"sftp://{USER}@{self.host}:{self.port}/?{query}"

    @property
    def private_key_json(self) -> str:
        return json.dumps({"conn_type": "sftp", "host": self.host, "port": self.port, "login": USER,
                           "extra": {"private_key": self.client_key_text, "host_key": self.host_public_key}})

    def stop(self) -> None:
        if self.stopper is not None:
            self.stopper()
            self.stopper = None


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, connections: set[asyncssh.SSHServerConnection]) -> None:
        self.connections = connections
        self.connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.connection = conn
        self.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self.connection)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


class _NoPosixRenameSFTPServer(asyncssh.SFTPServer):
    """A server like the ones without OpenSSH's posix-rename: that request fails as unsupported."""

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("posix-rename not supported here")


def _start_sftp_server(home: Path, keys_dir: Path, posix_rename: bool = True) -> SftpServer:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key_text = client_key.export_private_key("openssh").decode()
    client_key_path = keys_dir / "client_ed25519"
    client_key_path.write_text(client_key_text)
    client_key_path.chmod(0o600)
    info = SftpServer(
        home=home,
        host_public_key=host_key.export_public_key("openssh").decode().strip(),
        client_key_path=client_key_path,
        client_key_text=client_key_text,
    )
    sftp_class = asyncssh.SFTPServer if posix_rename else _NoPosixRenameSFTPServer
    connections: set[asyncssh.SSHServerConnection] = set()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sftp-server", daemon=True)
    thread.start()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            info.host, 0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(client_key.export_public_key().decode()),
            server_factory=lambda: _PasswordServer(connections),
            sftp_factory=lambda chan: sftp_class(chan, chroot=str(home).encode()),
            allow_scp=False,
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    info.port = acceptor.get_port()

    async def close() -> None:
        acceptor.close()
        for conn in list(connections):
            conn.close()
        await acceptor.wait_closed()

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    info.stopper = stop
    return info


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    home = tmp_path / "sftp_home"
    home.mkdir()
    server = _start_sftp_server(home, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def sftp_server_without_posix_rename(tmp_path: Path) -> Iterator[SftpServer]:
    home = tmp_path / "sftp_home_plain"
    home.mkdir()
    server = _start_sftp_server(home, tmp_path, posix_rename=False)
    yield server
    server.stop()


# -- HTTP ---------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    size: int


@dataclass
class HttpServer:
    root: Path
    port: int = 0
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    fail_first: int = 0             # answer 503 to this many uploads (-1: to every upload)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def uri(self) -> str:
        return f"http://{USER}:{quote(PASSWORD, safe='')}@{self.host}:{self.port}/"

    @property
    def json(self) -> str:
        return json.dumps({"conn_type": "http", "host": self.host, "port": self.port, "login": USER,
                           "password": PASSWORD, "extra": {"headers": {"X-Shop": "demo"}}})

    def should_fail(self) -> bool:
        with self.lock:
            if self.fail_first == 0:
                return False
            if self.fail_first > 0:
                self.fail_first -= 1
            return True


def _http_handler(state: HttpServer) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

        def do_PUT(self) -> None:
            self._store()

        def do_POST(self) -> None:
            self._store()

        def do_GET(self) -> None:
            if not self._authorized():
                return
            target = self._target()
            if not target.is_file():
                self._answer(HTTPStatus.NOT_FOUND)
                return
            body = target.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            if self._authorized():
                self._answer(HTTPStatus.OK if self._target().is_file() else HTTPStatus.NOT_FOUND)

        def do_MOVE(self) -> None:
            """WebDAV MOVE (RFC 4918) with Overwrite: T: an atomic rename on the server's disk."""
            with state.lock:
                state.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), 0))
            if not self._authorized():
                return
            source = self._target()
            target = self._target(urlsplit(self.headers.get("Destination", "")).path)
            if not source.is_file():
                self._answer(HTTPStatus.NOT_FOUND)
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            self._answer(HTTPStatus.CREATED)

        def do_DELETE(self) -> None:
            if not self._authorized():
                return
            target = self._target()
            if not target.is_file():
                self._answer(HTTPStatus.NOT_FOUND)
                return
            target.unlink()
            self._answer(HTTPStatus.NO_CONTENT)

        def _store(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), len(body)))
            if not self._authorized():
                return
            if state.should_fail():
                self._answer(HTTPStatus.SERVICE_UNAVAILABLE)
                return
            if self.headers.get("X-Content-SHA256") != sha256_of(body):
                self._answer(HTTPStatus.BAD_REQUEST)
                return
            target = self._target()
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.upload-{threading.get_ident()}")
            temp.write_bytes(body)
            os.replace(temp, target)
            self._answer(HTTPStatus.CREATED)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == expected_auth:
                return True
            self._answer(HTTPStatus.UNAUTHORIZED)
            return False

        def _target(self, path: str | None = None) -> Path:
            relative = unquote((path or self.path).split("?", 1)[0]).lstrip("/")
            target = (state.root / relative).resolve()
            if not target.is_relative_to(state.root.resolve()):
                raise PermissionError(relative)
            return target

        def _answer(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    root = tmp_path / "http_root"
    root.mkdir()
    state = HttpServer(root=root)
    server = ThreadingHTTPServer((state.host, 0), _http_handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(10)


# -- helpers shared by the test modules ----------------------------------------------------------------


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write a local source file under tmp_path/src and return its path."""
    source_dir = tmp_path / "src"

    def make(name: str, content: bytes) -> Path:
        path = source_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    return make


def age_file(path: Path, seconds: float) -> None:
    """Pretend the file was last written `seconds` ago."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


@pytest.fixture
def make_old() -> Callable[[Path, float], None]:
    return age_file
