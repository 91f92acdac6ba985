"""A Secrets Manager stand-in's front door that can misbehave: faults, stalls, latency, quotas, and counts.

It listens on 127.0.0.1, forwards each request to a moto server unless a fault matches or the
quota is spent, and counts calls per API action. The tests use it for faults moto cannot produce;
the benchmark uses it for network latency, an account's request quota, and to count API calls.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Fault:
    """Answer matching calls with this error instead of forwarding them."""

    code: str = "ThrottlingException"
    status: int = 400
    action: str = "GetSecretValue"
    secret_id: str | None = None  # None: every secret
    times: int | None = None  # None: every time; else only the first N matching calls
    stall: bool = False  # accept, read the request, never answer (until the proxy closes)
    first_attempts_only: bool = False  # leave the SDK's retries alone (its amz-sdk-request: attempt=N header)
    body: bytes | None = None  # answer with this raw body (and `status`) instead of an AWS error: a captive portal
    region: str | None = None  # only requests signed for this region (the stand-in of one region's outage)
    drop: bool = False  # read the request, then close the connection without a word
    once_exists: Path | None = None  # only once this file exists: a child process says when the outage starts
    skip: int = 0  # let the first N matching calls through (fail only a later call of the same action)

    def matches(self, action: str, secret_id: str | None, attempt: int, region: str | None = None) -> bool:
        if action != self.action or (self.secret_id is not None and secret_id != self.secret_id):
            return False
        if self.region is not None and region != self.region:
            return False
        if self.once_exists is not None and not self.once_exists.exists():
            return False
        if self.first_attempts_only and attempt != 1:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is None:
            return True
        if self.times > 0:
            self.times -= 1
            return True
        return False


class RateLimit:
    """An account's request quota: a token bucket (`per_second`, up to `burst` saved) shared by every
    caller, as AWS applies one per account and region. Past it: ThrottlingException, as the service says it."""

    def __init__(self, per_second: float, burst: float, actions: frozenset[str] | None = None) -> None:
        self.per_second = per_second
        self.burst = burst
        self.actions = actions  # None: every action draws on the bucket
        self._tokens = burst
        self._filled = time.monotonic()

    def admits(self, action: str) -> bool:
        """Take a token for this request; False when none is left. Called under the proxy's lock."""
        if self.actions is not None and action not in self.actions:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._filled) * self.per_second)
        self._filled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


THROTTLED = Fault("ThrottlingException", status=400)  # the answer past a RateLimit: HTTP 400, the JSON error


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's default of 5 drops SYNs when 50 clients connect at once: 1 s stalls


class AwsProxy:
    def __init__(
        self, upstream: str, request_delay: float = 0.0, connect_delay: float = 0.0, memoize_reads: bool = False
    ) -> None:
        self.upstream = urlsplit(upstream)
        # Answer a repeated GetSecretValue from memory: the real service answers concurrent calls in
        # parallel, while moto serializes them under one lock at several ms each (benchmark only).
        self.memoize_reads = memoize_reads
        self._memo: dict[bytes, tuple[int, list[tuple[str, str]], bytes]] = {}
        self.request_delay = request_delay
        self.connect_delay = connect_delay
        self.faults: list[Fault] = []
        self.quota: RateLimit | None = None
        self.throttled: Counter[str] = Counter()  # answers refused by the quota, per action
        # action -> a function that edits the JSON answer moto gave (e.g. backdating a secret)
        self.rewrites: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()
        self.regions: Counter[str] = Counter()  # calls per signing region
        self.connections = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.throttled.clear()
            self.connections = 0

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, action: str, secret_id: str | None, attempt: int, region: str | None) -> Fault | None:
        with self._lock:
            self.calls[action] += 1
            self.regions[region or "?"] += 1
            fault = next((fault for fault in self.faults if fault.matches(action, secret_id, attempt, region)), None)
            if fault is None and self.quota is not None and not self.quota.admits(action):
                self.throttled[action] += 1
                return THROTTLED
            return fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy.connections += 1
                if proxy.connect_delay:
                    time.sleep(proxy.connect_delay)

            def log_message(self, format: str, *args: object) -> None:
                """Silent."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1] or _query_action(body)
                try:
                    secret_id = json.loads(body).get("SecretId") if body.startswith(b"{") else None
                except ValueError:
                    secret_id = None
                attempt = _attempt(self.headers.get("amz-sdk-request", ""))
                fault = proxy._decide(action, secret_id, attempt, _region(self.headers.get("Authorization", "")))
                if proxy.request_delay:
                    time.sleep(proxy.request_delay)
                if fault is not None and fault.stall:
                    proxy._closing.wait()
                    return
                if fault is not None and fault.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault is not None and fault.body is not None:
                    self._answer(fault.status, [("Content-Type", "text/html")], fault.body)
                    return
                if fault is not None:
                    message = "Rate exceeded" if fault is THROTTLED else f"injected {fault.code}"
                    payload = json.dumps({"__type": fault.code, "message": message}).encode()
                    self._answer(fault.status, [("Content-Type", "application/x-amz-json-1.1")], payload)
                    return
                memo_key = body if proxy.memoize_reads and action == "GetSecretValue" else None
                if memo_key is not None and memo_key in proxy._memo:
                    self._answer(*proxy._memo[memo_key])
                    return
                self._forward(body, proxy.rewrites.get(action), memo_key)

            def _forward(
                self, body: bytes, rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None, memo_key: bytes | None
            ) -> None:
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=30
                )
                try:
                    upstream.request("POST", self.path, body, dict(self.headers.items()))
                    response = upstream.getresponse()
                    payload = response.read()
                    if rewrite is not None and response.status == 200:
                        payload = json.dumps(rewrite(json.loads(payload))).encode()
                    headers = [
                        (k, v)
                        for k, v in response.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")
                    ]
                    if memo_key is not None and response.status == 200:
                        proxy._memo[memo_key] = (response.status, headers, payload)
                    self._answer(response.status, headers, payload)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _query_action(body: bytes) -> str:
    """The Action of a query-protocol call (STS), e.g. GetCallerIdentity."""
    for pair in body.decode(errors="replace").split("&"):
        if pair.startswith("Action="):
            return pair.split("=", 1)[1]
    return "unknown"


def _region(authorization: str) -> str | None:
    """The region of a SigV4 signature: Credential=KEY/DATE/REGION/SERVICE/aws4_request."""
    scope = authorization.partition("Credential=")[2].split(",")[0].split("/")
    return scope[2] if len(scope) > 2 else None


def _attempt(header: str) -> int:
    """botocore's `amz-sdk-request: attempt=2; max=4` -> 2 (1 when the header is absent)."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(";"))
    return int(fields.get("attempt") or 1)
