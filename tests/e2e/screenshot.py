"""Screenshots of the Airflow UI with headless Chromium, logged in by a JWT cookie (Chrome DevTools Protocol)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from airflow_cluster import free_port
from websockets.sync.client import connect

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _DevTools:
    def __init__(self, websocket_url: str):
        self.socket = connect(websocket_url, max_size=64 * 1024 * 1024)
        self.next_id = 0

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def close(self) -> None:
        self.socket.close()


def screenshot(url: str, token: str, cookie_url: str, output: Path, width: int = 1600, height: int = 1000,
               settle_seconds: float = 8.0) -> Path:
    """Open `url` logged in (cookie `_token`), wait for the page to settle, save a PNG."""
    browser = chromium_path()
    if browser is None:
        raise RuntimeError("no Chromium: apt-get install chromium")
    port = free_port()
    profile = tempfile.mkdtemp(prefix="chromium-")
    process = subprocess.Popen([browser, *CHROMIUM_FLAGS, f"--remote-debugging-port={port}",
                                f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = _first_page(port)
        tools = _DevTools(page["webSocketDebuggerUrl"])
        try:
            tools.call("Network.enable")
            tools.call("Network.setCookie", name="_token", value=token, url=cookie_url)
            tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                       mobile=False)
            tools.call("Page.navigate", url=url)
            time.sleep(settle_seconds)
            data = tools.call("Page.captureScreenshot", format="png")["data"]
        finally:
            tools.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(profile, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(base64.b64decode(data))
    return output


def _first_page(port: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pages = [p for p in requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                     if p.get("type") == "page"]
            if pages:
                return pages[0]
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("Chromium's DevTools endpoint did not come up")
