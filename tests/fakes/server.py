"""A loopback HTTP/1.1 server on its own thread and event loop, with a queue of faults.

Provider fakes subclass `FakeServer` and answer `handle(request)`; the base class records every
request, applies enqueued or seeded faults, and speaks just enough HTTP for the SDKs' clients
(keep-alive, Content-Length and chunked bodies).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One misbehaviour to answer a request with.

    kinds: `status` (an error status, with `retry_after` for a 429), `slow` (answer normally
    after `delay_s`), `malformed` (truncated JSON), `empty` (a well-formed reply with no text or
    image), `refusal` (the provider's content-policy shape), `drop` (close the connection),
    `truncate` (send the head and half the body of a correct reply, then close),
    `broken_image` (a well-formed reply whose image is not a whole image; image routes only).
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    detail: str = ""
    """For `broken_image`: how the image is broken (see `broken_png`)."""


def rate_limit(retry_after: float = 1.0) -> Fault:
    """A 429 with a Retry-After header."""
    return Fault("status", status=429, retry_after=retry_after)


def server_error(status: int = 500) -> Fault:
    """A 5xx (or any) error status."""
    return Fault("status", status=status)


def slow(delay_s: float) -> Fault:
    """A correct reply, late."""
    return Fault("slow", delay_s=delay_s)


def broken_image(how: str = "half") -> Fault:
    """An image reply whose bytes start like a PNG but are not a whole image (`broken_png`)."""
    return Fault("broken_image", detail=how)


MALFORMED = Fault("malformed")
EMPTY = Fault("empty")
REFUSAL = Fault("refusal")
DROP = Fault("drop")
TRUNCATE = Fault("truncate")


@dataclass
class Request:
    """A request as the fake received it; `json` or `form` hold the decoded body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[tuple[str, str, bytes]]] = field(default_factory=dict)
    """Multipart files per field name: (filename, content type, bytes)."""
    received_at: float = field(default_factory=time.monotonic)
    """When it arrived (`time.monotonic`: one clock for every process on the machine)."""


@dataclass
class Reply:
    """What to send back."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    is_truncated: bool = False
    """Send the full Content-Length but only half the body, then close the connection."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # e.g. Anthropic's 529 Overloaded
        return "Overloaded" if status == 529 else "Unknown"


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: dict[str, Any] = {}
    files: dict[str, list[tuple[str, str, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files.setdefault(str(name), []).append(
                (filename, part.get_content_type(), bytes(payload))
            )
        else:
            form[str(name)] = bytes(payload).decode()
    return form, files


class TokenBucket:
    """A server's rate limit: `rate` requests a second, `burst` at once, refused past that."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0, or the seconds until one is there (the request is refused)."""
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class FakeServer:
    """Base of the provider fakes; use as a context manager.

    Attributes:
        latency_s: Every reply waits this long (the perf script uses 0.1 s).
        requests: Every request received, in arrival order.
        faults_served: How many of each fault kind were answered.
    """

    def __init__(self, *, latency_s: float = 0.0, host: str = "127.0.0.1") -> None:
        self.latency_s = latency_s
        self.host = host
        self.requests: list[Request] = []
        self.faults_served: Counter[str] = Counter()
        self._queue: list[Fault] = []
        self._seeded: list[tuple[Fault, float]] = []
        self._seen: set[str] = set()
        self._bucket: TokenBucket | None = None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0
        self._ids = 0

    @property
    def url(self) -> str:
        """The base URL clients should use."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeServer:
        """Listen on a free port of `host` (a loopback address: 127.0.0.2 is another host)."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, 0, backlog=1024), self._loop
        )
        self._server = future.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the server and its thread."""

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order."""
        with self._lock:
            self._queue.extend(faults)

    def seed_faults(self, rates: Iterable[tuple[Fault, float]]) -> None:
        """Fault a fixed share of first attempts, chosen by a hash of the request body.

        The same request is faulted the same way in every run, and its retry (the same body a
        second time) is answered normally, so a run with faults must end like one without.
        """
        with self._lock:
            self._seeded = list(rates)
            self._seen.clear()

    def limit_rate(self, rate: float | None, burst: int = 1) -> None:
        """Answer at most `rate` requests a second (`burst` at once), as a provider's limit does.

        A request past the limit is answered at once with a 429 whose `retry-after-ms` says when
        the next token comes (`retry-after` rounds it up to whole seconds), and counts in
        `faults_served["rate_limited"]`. None lifts the limit.
        """
        with self._lock:
            self._bucket = None if rate is None else TokenBucket(rate, burst)

    @property
    def count(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    def handle(self, request: Request) -> Reply:
        """Answer a well-behaved request (subclasses)."""
        raise NotImplementedError

    def fault_reply(self, request: Request, fault: Fault) -> Reply:
        """Answer with `fault`; subclasses shape refusals, empty replies and error bodies."""
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["retry-after"] = f"{fault.retry_after:g}"
            return Reply(fault.status, self.error_body(fault.status), headers)
        if fault.kind == "malformed":
            return Reply(200, raw=b'{"id": "x", "choices": [{"trunc')
        raise ValueError(f"fault {fault.kind!r} is not handled by {type(self).__name__}")

    def error_body(self, status: int) -> Any:
        """The provider's JSON error body for `status`."""
        return {"error": {"message": _phrase(status), "code": status}}

    def _next_fault(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.pop(0)
            if not self._seeded:
                return None
            digest = hashlib.sha256(request.path.encode() + request.body).hexdigest()
            if digest in self._seen:
                return None
            self._seen.add(digest)
        draw = int(digest[:8], 16) / 0xFFFFFFFF
        edge = 0.0
        for fault, rate in self._seeded:
            edge += rate
            if draw < edge:
                return fault
        return None

    async def _respond(self, request: Request) -> Reply | None:
        wait = self._bucket.take() if self._bucket is not None else 0.0
        if wait:
            with self._lock:
                self.requests.append(request)
                self.faults_served["rate_limited"] += 1
            # Rounded up: a token not there yet is at least a millisecond away, as a server says.
            millis = math.ceil(wait * 1000)
            headers = {"retry-after-ms": f"{millis}", "retry-after": f"{math.ceil(wait)}"}
            return Reply(429, self.error_body(429), headers)
        fault = self._next_fault(request)
        if fault is not None:
            with self._lock:
                self.faults_served[fault.kind] += 1
        delay = self.latency_s + (fault.delay_s if fault is not None else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if fault is None or fault.kind == "slow":
            return self.handle(request)
        if fault.kind == "drop":
            return None
        if fault.kind == "truncate":
            reply = self.handle(request)
            reply.is_truncated = True
            return reply
        return self.fault_reply(request, fault)

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        line = await reader.readline()
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = Request(method, target, headers, body)
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json") and body:
            request.json = json.loads(body)
        elif content_type.startswith("multipart/form-data"):
            request.form, request.files = _parse_multipart(content_type, body)
        return request

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    break
                reply = await self._respond(request)
                if reply is None:
                    break
                body = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self._ids += 1
                ids = {"x-request-id": f"req_{self._ids}", "request-id": f"req_{self._ids}"}
                head = [
                    f"HTTP/1.1 {reply.status} {_phrase(reply.status)}",
                    "content-type: application/json",
                    f"content-length: {len(body)}",
                    *(f"{k}: {v}" for k, v in {**ids, **reply.headers}.items()),
                ]
                if reply.is_truncated:
                    body = body[: len(body) // 2]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                await writer.drain()
                if reply.is_truncated:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
