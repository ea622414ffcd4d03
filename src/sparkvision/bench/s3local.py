"""A local S3 server for trying and measuring object-store inputs: moto's server on
127.0.0.1, optionally behind a proxy that adds latency to every request and answers some
with ``503 SlowDown`` (the way S3 throttles).

``make s3-up`` / ``make s3-down`` run it in the background; the tests and the storage
benchmark start it in their own process::

    python -m sparkvision.bench.s3local --port 9000 --latency-ms 20 --throttle-every 10

It prints the ``AWS_*`` variables to export, then serves until stopped.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")
#: the credentials a local server takes (moto accepts any)
ACCESS_KEY = "sparkvision-local"


@dataclass
class LocalS3:
    """A running local S3: ``endpoint`` (what clients use), ``requests`` and ``throttled``
    counted by the proxy (both 0 without one)."""

    endpoint: str
    proxy: ThrottlingProxy | None = None

    @property
    def requests(self) -> int:
        return self.proxy.requests if self.proxy else 0

    @property
    def throttled(self) -> int:
        return self.proxy.throttled if self.proxy else 0

    def env(self, secret: str = "sparkvision-local-secret") -> dict[str, str]:
        """The variables that point botocore (and so s3fs) at this server."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint}


class ThrottlingProxy(ThreadingHTTPServer):
    """Forwards every request to ``upstream`` after ``latency`` seconds; every
    ``throttle_every``-th request (0: none) is answered ``503 SlowDown`` instead."""

    daemon_threads = True

    def __init__(self, upstream: tuple[str, int], *, latency: float = 0.0,
                 throttle_every: int = 0, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _ProxyHandler)
        self.upstream = upstream
        self.latency = latency
        self.throttle_every = throttle_every
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.requests = 0
        self.throttled = 0

    def next_is_throttled(self) -> bool:
        with self._lock:
            number = next(self._counter)
            self.requests = number
            throttled = bool(self.throttle_every) and number % self.throttle_every == 0
            self.throttled += throttled
            return throttled


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThrottlingProxy

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.server.latency:
            time.sleep(self.server.latency)
        if self.server.next_is_throttled():
            self.send_response(503, "Slow Down")
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def local_s3(*, latency_ms: float = 0.0, throttle_every: int = 0,
             port: int = 0) -> Iterator[LocalS3]:
    """Start moto's S3 server (and the proxy when latency or throttling is asked for) on
    127.0.0.1; stop both on exit."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit("a local S3 server needs moto: pip install 'moto[server]'") from None
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0 if (latency_ms or throttle_every)
                                else port)
    server.start()
    host, moto_port = server.get_host_and_port()
    proxy = None
    if latency_ms or throttle_every:
        proxy = ThrottlingProxy((host, moto_port), latency=latency_ms / 1000,
                                throttle_every=throttle_every, port=port)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"
    else:
        endpoint = f"http://{host}:{moto_port}"
    try:
        yield LocalS3(endpoint=endpoint, proxy=proxy)
    finally:
        if proxy is not None:
            proxy.shutdown()
            proxy.server_close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sparkvision.bench.s3local",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="added to every request (default 0)")
    parser.add_argument("--throttle-every", type=int, default=0, metavar="N",
                        help="answer every N-th request 503 SlowDown (default: never)")
    args = parser.parse_args(argv)
    with local_s3(latency_ms=args.latency_ms, throttle_every=args.throttle_every,
                  port=args.port) as s3:
        env = s3.env()
        print("local S3 at " + s3.endpoint + "; for s3:// inputs export:", flush=True)
        for key, value in env.items():
            print(f"export {key}={value}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
