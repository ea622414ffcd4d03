"""Headless Chromium driven through the DevTools protocol over a pipe (no websocket
package needed): load a page, record every request it makes, evaluate JavaScript in it,
take a screenshot.

Chromium started with ``--remote-debugging-pipe`` reads protocol messages from file
descriptor 3 and writes to 4, each a JSON text ended by a NUL byte.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]
BINARIES = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    return next((shutil.which(b) for b in BINARIES if shutil.which(b)), None)


def install_browser() -> tuple[str | None, str]:
    """Debian's chromium, installed with apt-get when missing (needs root); returns the
    binary (or None) and what was tried."""
    found = find_browser()
    if found:
        return found, "found"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "chromium is missing and apt-get cannot run here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    tried = []
    for steps in ([["apt-get", "install", "-y", "chromium"]],
                  [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]):
        for step in steps:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=1200)
            tried.append(f"{' '.join(step)} -> exit {done.returncode}: {done.stderr[-300:]}")
        if find_browser():
            return find_browser(), "installed"
    return None, "; ".join(tried)


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, binary: str, *, width: int = 1200, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="sv-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire() -> None:  # in the child: its fd 3 reads our commands, fd 4 answers
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 - the browser may be gone already
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, params: dict | None = None, *, session: bool = False,
             timeout: float = 60) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise TimeoutError("no answer from chromium")
            if not select.select([self._read], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise TimeoutError("chromium closed the pipe")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(text)

    def load(self, url: str, *, timeout: float = 60) -> float:
        """Open ``url`` and wait for its load event; returns the seconds it took."""
        self.events.clear()
        started = time.monotonic()
        self.call("Page.navigate", {"url": url}, session=True)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive(started + timeout))
        return time.monotonic() - started

    def requests(self) -> list[str]:
        """URLs of every request the page made since :meth:`load`."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: str, *, max_height: int = 6000) -> None:
        size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"],
                "height": min(size["height"], max_height), "scale": 1}
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                     "captureBeyondViewport": True}, session=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(shot["data"]))
