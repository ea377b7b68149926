"""Shared machinery of the fake channel servers (Prom.ua, Rozetka, WooCommerce): an aiohttp app served
from a background thread with its own event loop on 127.0.0.1 (a free port), in-memory state guarded by
one lock, a request log, a server clock tests can move, queued faults, and a JSON state file for runs
as a separate process.

Faults (one mechanism for the three fakes): `server.fail_next(kind, count=1, path=None, method=None, ...)`
queues `count` faults for the next requests whose path matches `path` (an fnmatch pattern) and method:
- "429": HTTP 429 with `Retry-After: <retry_after>` seconds and the channel's error body;
- "500": the channel's error JSON; "502"/"503": an nginx-style HTML page, as a proxy in front answers;
- "timeout": the answer waits `delay` seconds (longer than the client's timeout);
- "drop": the connection is closed without an answer;
- "success_false": HTTP 200 with the channel's failure body (Prom `{"error"}`, Rozetka `success: false`);
- "reorder" / "duplicate": the next listing comes back reversed / with its first item repeated at its end.
"timeout" and "drop" take `processed=True` to carry out the request first and lose only the answer
(the push took effect, the client never heard): the case that makes "exactly once" hard.
`server.after_requests(path, n, action)` runs `action()` after the n-th matching request, e.g. to change
an order between two pages of a listing.

Control endpoints under `/_fake/` (not logged, never faulted) let a test drive a fake that runs as its
own process: `GET /_fake/state`, `POST /_fake/orders` (builder keyword arguments), `POST /_fake/faults`
(`fail_next` keyword arguments), `POST /_fake/clock` (`{"advance": seconds}`).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_values import KYIV

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "drop", "success_false", "reorder", "duplicate")
LISTING_FAULTS = ("reorder", "duplicate")

LISTING_FAULT = web.RequestKey("listing_fault", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PROXY_PAGE = ("<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} "
               "{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


@dataclass
class Fault:
    kind: str
    path: str | None = None          # fnmatch pattern on the request path; None: any
    method: str | None = None
    retry_after: int = 1
    delay: float = 5.0
    processed: bool = False

    def matches(self, method: str, path: str) -> bool:
        return ((self.path is None or fnmatch.fnmatchcase(path, self.path))
                and (self.method is None or self.method.upper() == method))


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    time: float                       # the server clock (seconds since the epoch)
    status: int | None = None         # None: no answer was sent (dropped)
    fault: str | None = None


@dataclass
class _Hook:
    path: str
    remaining: int
    action: Callable[[], None]


class FakeServer:
    """Base of the three fakes: subclasses add routes (`routes`), their state (`state_dict`/`load_state`),
    their auth check (`check_auth`) and their error bodies (`error_body`, `success_false_body`)."""

    name = "fake"

    def __init__(self, state_file: Path | str | None = None) -> None:
        self.lock = threading.RLock()
        self.requests: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.hooks: list[_Hook] = []
        self.clock_offset = 0.0
        self.state_file = Path(state_file) if state_file else None
        self.host = "127.0.0.1"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # -- what subclasses provide -------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def check_auth(self, request: web.Request) -> web.Response | None:
        """None when the request may pass, else the channel's refusal."""
        return None

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def success_false_body(self) -> dict[str, Any]:
        raise ValueError(f"{self.name} has no HTTP 200 failure answers")

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` wrote (a fake started again on its state file)."""

    def add_order(self, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    # -- clock -------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's time, in Kyiv's offset; `advance` moves it (token expiry, date filters)."""
        return datetime.fromtimestamp(time.time() + self.clock_offset, KYIV)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds

    # -- faults, hooks, log ------------------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1, path: str | None = None, method: str | None = None,
                  retry_after: int = 1, delay: float = 5.0, processed: bool = False) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        if kind == "success_false":
            self.success_false_body()   # raises for a channel that has no such answer
        with self.lock:
            self.faults.extend(Fault(kind, path, method, retry_after, delay, processed) for _ in range(count))

    def after_requests(self, path: str, n: int, action: Callable[[], None]) -> None:
        """Run `action()` (under the state lock) after the n-th request to a path matching `path`."""
        with self.lock:
            self.hooks.append(_Hook(path, n, action))

    def logged(self, method: str | None = None, path: str | None = None) -> list[RequestRecord]:
        """The request log, optionally only one method and paths matching an fnmatch pattern."""
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method.upper())
                    and (path is None or fnmatch.fnmatchcase(r.path, path))]

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.matches(method, path):
                    return self.faults.pop(index)
        return None

    def _run_hooks(self, path: str) -> None:
        with self.lock:
            for hook in list(self.hooks):
                if fnmatch.fnmatchcase(path, hook.path):
                    hook.remaining -= 1
                    if hook.remaining == 0:
                        self.hooks.remove(hook)
                        hook.action()

    # -- responses ---------------------------------------------------------------------------------

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return json_response(self.error_body(status, message), status=status, headers=headers)

    def _fault_response(self, fault: Fault) -> web.Response:
        if fault.kind == "429":
            return self.error(429, "Too many requests", {"Retry-After": str(fault.retry_after)})
        if fault.kind in ("502", "503"):
            status = int(fault.kind)
            reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}[status]
            return web.Response(status=status, text=_PROXY_PAGE.format(status=status, reason=reason),
                                content_type="text/html")
        if fault.kind == "success_false":
            return json_response(self.success_false_body())
        return self.error(500, "Internal server error")

    # -- the app -----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        app.add_routes(self.routes())
        app.add_routes([web.get("/_fake/state", self._control_state),
                        web.post("/_fake/orders", self._control_orders),
                        web.post("/_fake/faults", self._control_faults),
                        web.post("/_fake/clock", self._control_clock)])
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        record = RequestRecord(request.method, request.path, dict(request.query), await _json_or_none(request),
                               self.now().timestamp())
        with self.lock:
            self.requests.append(record)
        try:
            return await self._answer(request, handler, record)
        finally:
            self._run_hooks(request.path)
            self.save()

    async def _answer(self, request: web.Request, handler: Handler, record: RequestRecord) -> web.StreamResponse:
        fault = self._take_fault(request.method, request.path)
        record.fault = fault.kind if fault else None
        if fault is None or fault.kind in LISTING_FAULTS:
            request[LISTING_FAULT] = fault.kind if fault else ""
            response = await self._handle(request, handler)
            record.status = response.status
            return response
        if fault.kind in ("timeout", "drop"):
            if fault.processed:
                await self._handle(request, handler)
            if fault.kind == "timeout":
                await self._sleep(fault.delay)
            else:
                _drop(request)
            response = self.error(504, "Gateway timeout")
            record.status = None if fault.kind == "drop" else 504
            return response
        response = self._fault_response(fault)
        record.status = response.status
        return response

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.check_auth(request)
        if refusal is not None:
            return refusal
        try:
            return await handler(request)
        except web.HTTPException as exc:   # aiohttp's own 404/405: answered in the channel's shape
            return self.no_route(exc.status, exc.reason)

    def no_route(self, status: int, reason: str) -> web.Response:
        return self.error(status, reason)

    async def _sleep(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _control_state(self, request: web.Request) -> web.Response:
        return json_response(self.snapshot())

    async def _control_orders(self, request: web.Request) -> web.Response:
        order = self.add_order(**(await request.json()))
        self.save()
        return json_response(order)

    async def _control_faults(self, request: web.Request) -> web.Response:
        self.fail_next(**(await request.json()))
        return json_response({"queued": len(self.faults)})

    async def _control_clock(self, request: web.Request) -> web.Response:
        self.advance(float((await request.json())["advance"]))
        return json_response({"now": self.now().isoformat()})

    # -- state file --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"base_url": self.base_url, **self.state_dict(),
                    "requests": [asdict(r) for r in self.requests]}

    def save(self) -> None:
        """Write the state file (if any) atomically, so a reader never sees half of it."""
        if self.state_file is None:
            return
        text = json.dumps(self.snapshot(), ensure_ascii=False, indent=1, default=str)
        temp = self.state_file.with_name(f".{self.state_file.name}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, self.state_file)

    def load(self) -> None:
        """Start again from the state file (if any): the channel's data and the request log go on."""
        if self.state_file is not None and self.state_file.exists():
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.load_state(state)
            self.requests = [RequestRecord(**record) for record in state.get("requests", [])]

    # -- running -----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{self.name}-{id(self)}", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start_site(), self._loop).result(10)
        self.save()
        return self

    async def _start_site(self) -> None:
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop_site(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def _stop_site(self) -> None:
        assert self._stopping is not None and self._runner is not None
        self._stopping.set()
        await self._runner.cleanup()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers,
                             dumps=lambda value: json.dumps(value, ensure_ascii=False))


async def _json_or_none(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def read_json(request: web.Request) -> Any:
    """The body as JSON (already read by the middleware), or None when it is missing or not JSON."""
    try:
        return await request.json()
    except ValueError:
        return None


def serve_main(factory: Callable[[Path | None], FakeServer], argv: list[str] | None = None) -> None:
    """`python fake_X.py --port 0 --state-file X`: print the base URL, serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=factory.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path)
    args = parser.parse_args(argv)
    server = factory(args.state_file)
    server.load()
    server.port = args.port
    server.start()
    print(server.base_url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop()
    sys.exit(0)


def apply_listing_fault(request: web.Request, items: list[Any]) -> list[Any]:
    kind = request.get(LISTING_FAULT)
    if kind == "reorder":
        return list(reversed(items))
    if kind == "duplicate" and items:
        return [*items, items[0]]
    return items
