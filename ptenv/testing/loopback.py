"""A loopback HTTP server speaking the OpenAI Chat Completions and Anthropic Messages wire formats.

For offline tests and benchmarks driven through the *real* ``openai`` and ``anthropic`` SDKs: the SDKs
talk HTTP to this server on 127.0.0.1 (ephemeral port); nothing of the SDKs is mocked.  Standard
library only.

Endpoints (a missing ``/v1`` prefix is accepted too):

- ``POST /v1/chat/completions`` -- OpenAI; errors as ``{"error": {"message", "type", "param", "code"}}``.
- ``POST /v1/messages`` -- Anthropic; errors as ``{"type": "error", "error": {"type", "message"}}``.

Streaming (``"stream": true``) is refused with a 400.  Usage counts are deterministic estimates:
``len(request body) // 4`` input tokens, ``len(reply text + tool arguments) // 4 + 1`` output tokens.

Reply kinds (frozen dataclasses; every kind has ``delay`` seconds, added to ``srv.latency``; together
they are the time from the request's arrival to the answer, the server's own work included):

- ``Text(text="done")`` -- a plain assistant reply (``finish_reason="stop"`` / ``stop_reason="end_turn"``).
- ``ToolCalls(calls=[(name, arguments), ...], text=None)`` -- ``arguments`` is a dict or a raw string.
  OpenAI gets raw strings as-is in ``function.arguments`` (so malformed JSON can be sent) and dicts
  JSON-encoded; Anthropic gets a dict ``input`` (a raw string is parsed; when it is not a JSON object the
  input is ``{}``).  ``finish_reason="tool_calls"`` / ``stop_reason="tool_use"``.
- ``Error(status, message="", type=None, code=None, retry_after_ms=1.0, should_retry=None)`` -- an error
  in the provider's format; ``type`` defaults by status (OpenAI: ``invalid_request_error``, ``requests``
  for 429, ``server_error`` for 5xx; Anthropic: ``invalid_request_error``, ``authentication_error``,
  ``permission_error``, ``not_found_error``, ``rate_limit_error``, ``api_error``, ``timeout_error``,
  ``overloaded_error``).  Retryable statuses (408, 409, 429, >= 500) carry ``retry-after: 0`` and
  ``retry-after-ms`` (unless ``retry_after_ms`` is None): the SDKs ignore a zero ``retry-after`` and
  fall back to their exponential backoff (~0.5 s, 1 s, ...), while ``retry-after-ms: 1`` makes their
  retries immediate.  ``should_retry`` sets the ``x-should-retry`` header the SDKs obey.
- ``Timeout(seconds=1.0)`` -- sleep ``seconds`` and then answer 504 (a client with a shorter timeout has
  given up and retried by then).  Any reply with a large ``delay`` times a client out the same way.

Shorthands accepted wherever a reply is: a ``str`` is ``Text``; a dict with ``"error"`` (the status, plus
optional ``"message"``), ``"timeout"`` (seconds), ``"tool_calls"`` (``[(name, args)]`` or
``[{"name", "arguments"}]``, plus optional ``"text"``) or ``"text"``, each with an optional ``"delay"``.

Usage::

    with LoopbackLLM() as srv:
        srv.script("openai", [Error(429), ToolCalls([("search", '{"q": ')]), "all done"])
        srv.handler = lambda provider, body: Text("handled")   # used once a queue is empty
        client = openai.OpenAI(api_key="sk-test", base_url=srv.openai_base_url)
        ...
        provider, path, headers, body = srv.requests[0]

``srv.latency`` (seconds) is how long every request takes, counted from its arrival (so the server's own
parsing and bookkeeping do not add to it); ``srv.in_flight_peak`` is the highest number of requests
handled at once; ``srv.errors`` lists exceptions raised by ``srv.handler`` (answered as 500 with
``x-should-retry: false``).  With neither a queued reply nor a handler (or a handler returning None) the
reply is ``Text("done")``.  ``LoopbackLLM(dialect="llamacpp" | "ollama" | "textcalls")`` follows the rules
of a local OpenAI-compatible server instead of OpenAI's (:mod:`ptenv.testing.dialects`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ptenv.testing.dialects import check_dialect, check_request, seen_reply, shape_completion
from ptenv.testing.wire import (
    ANTHROPIC_PATHS,
    MODELS_PATHS,
    OPENAI_PATHS,
    PROVIDERS,
    Error,
    Handler,
    Reply,
    ReplyLike,
    Request,
    Text,
    Timeout,
    ToolCalls,
    anthropic_message,
    coerce_reply,
    error_body,
    error_headers,
    model_listing,
    openai_completion,
    output_tokens,
    provider_of,
    read_body,
)

__all__ = [
    "PROVIDERS",
    "Error",
    "Handler",
    "LoopbackLLM",
    "Reply",
    "ReplyLike",
    "Request",
    "Text",
    "Timeout",
    "ToolCalls",
    "coerce_reply",
]

# ----------------------------------------------------------------------------------------------------------------------
# the server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, owner: LoopbackLLM, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: no traceback on stderr
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms Nagle/delayed-ACK stall
    server_version = "ptenv-loopback/1"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no per-request line on stderr
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._connection_closed(self.connection)

    def do_POST(self) -> None:
        self.server.owner._serve(self)

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    def send_json(self, status: int, body: dict[str, Any], headers: Mapping[str, str]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) or the server is closing
            self.close_connection = True


@dataclass
class _Stats:
    in_flight: int = 0
    in_flight_peak: int = 0
    counter: int = 0
    queues: dict[str, deque[Reply]] = field(default_factory=lambda: {p: deque() for p in PROVIDERS})


class LoopbackLLM:
    """The loopback server. ``with LoopbackLLM() as srv:`` starts it on a daemon thread; ``close()`` stops it."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        handler: Handler | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        dialect: str = "openai",
    ) -> None:
        #: Whose rules the OpenAI endpoint follows (:mod:`ptenv.testing.dialects`).
        self.dialect = check_dialect(dialect)
        self.latency: float = latency
        self.handler: Handler | None = handler
        #: When set, a request without this key (OpenAI: ``Authorization: Bearer``; Anthropic:
        #: ``x-api-key``) is answered 401, as a provider would.
        self.api_key = api_key
        self.requests: list[Request] = []
        #: Model listings served (``GET /v1/models``, what clients ask to check a server), kept
        #: apart from ``requests`` so counts of completions stay what tests expect.
        self.listings: list[Request] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stats = _Stats()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(self, (host, port))
        self._thread: threading.Thread | None = None
        self._closed = False

    # ---- lifecycle

    def start(self) -> LoopbackLLM:
        if self._closed:
            raise RuntimeError("LoopbackLLM is closed")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-llm", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake sleeping replies and drop open connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> LoopbackLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- addresses

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    # ---- scripting

    def script(self, provider: str, replies: Iterable[ReplyLike]) -> None:
        """Append replies to the FIFO queue of ``provider`` ("openai" or "anthropic")."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
        coerced = [coerce_reply(r) for r in replies]
        with self._lock:
            self._stats.queues[provider].extend(coerced)

    def pending(self, provider: str) -> int:
        """Number of scripted replies not yet served for ``provider``."""
        with self._lock:
            return len(self._stats.queues[provider])

    def reset(self) -> None:
        """Forget scripted replies, recorded requests and errors, and the in-flight peak."""
        with self._lock:
            for queue in self._stats.queues.values():
                queue.clear()
            self.requests.clear()
            self.errors.clear()
            self._stats.in_flight_peak = self._stats.in_flight

    @property
    def in_flight(self) -> int:
        return self._stats.in_flight

    @property
    def in_flight_peak(self) -> int:
        return self._stats.in_flight_peak

    # ---- internals

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _next_id(self) -> int:
        with self._lock:
            self._stats.counter += 1
            return self._stats.counter

    def _next_reply(self, provider: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            queue = self._stats.queues[provider]
            if queue:
                return queue.popleft()
        handler = self.handler
        if handler is None:
            return Text()
        try:
            result = handler(provider, body)
            return Text() if result is None else coerce_reply(result)
        except Exception as exc:  # a broken handler must not take the server down
            with self._lock:
                self.errors.append(exc)
            return Error(500, f"loopback handler raised {type(exc).__name__}: {exc}", should_retry=False)

    def _serve(self, req: _RequestHandler) -> None:
        with self._lock:
            self._stats.in_flight += 1
            self._stats.in_flight_peak = max(self._stats.in_flight_peak, self._stats.in_flight)
        try:
            self._serve_one(req)
        except Exception as exc:  # never kill the connection thread silently with a half-written answer
            with self._lock:
                self.errors.append(exc)
            provider = provider_of(req.path)
            req.send_json(500, error_body(provider, Error(500, f"loopback server error: {exc}"), "req_error"), {})
            req.close_connection = True
        finally:
            with self._lock:
                self._stats.in_flight -= 1

    def _serve_one(self, req: _RequestHandler) -> None:
        arrived = time.monotonic()
        path = req.path.split("?", 1)[0].rstrip("/")
        provider = provider_of(path)
        headers = {k.lower(): v for k, v in req.headers.items()}
        if path in MODELS_PATHS and "anthropic-version" in headers:  # one path, both providers
            provider = "anthropic"
        raw, body, problem = read_body(req)
        if self.api_key is not None and self.api_key not in (
            headers.get("x-api-key"),
            headers.get("authorization", "").removeprefix("Bearer "),
        ):
            req.send_json(401, error_body(provider, Error(401, "invalid api key (loopback)"), "req_unauthorized"), {})
            return
        if problem is None and req.command == "GET" and path in MODELS_PATHS:
            with self._lock:
                self.listings.append(Request(provider, req.path, headers, {}))
            req.send_json(200, model_listing(provider), {})
            return
        if problem is None and req.command != "POST":
            problem = Error(405, f"method {req.command} not allowed")
        if problem is None and path not in OPENAI_PATHS + ANTHROPIC_PATHS:
            problem = Error(404, f"no such endpoint: {req.command} {path}")
        if problem is None and body.get("stream"):
            problem = Error(400, "streaming is not supported by the loopback server")
        if problem is None:
            problem = check_request(self.dialect, provider, body)
        with self._lock:
            self.requests.append(Request(provider, req.path, headers, body))
        reply = problem if problem is not None else seen_reply(self.dialect, body, self._next_reply(provider, body))
        n = self._next_id()
        request_id = f"req_loopback{n:08d}"

        wait = self.latency + reply.delay - (time.monotonic() - arrived)
        if wait > 0 and self._stop.wait(wait):
            req.close_connection = True
            return
        id_header = {"request-id": request_id} if provider == "anthropic" else {"x-request-id": request_id}
        if isinstance(reply, Timeout):
            reply = Error(504)
        if isinstance(reply, Error):
            req.send_json(reply.status, error_body(provider, reply, request_id), {**id_header, **error_headers(reply)})
            return
        model = str(body.get("model") or "loopback")
        usage_in = len(raw) // 4
        usage_out = output_tokens(reply)
        if provider == "anthropic":
            answer = anthropic_message(reply, model, n, usage_in, usage_out)
        else:
            answer = shape_completion(self.dialect, openai_completion(reply, model, n, usage_in, usage_out))
        req.send_json(200, answer, id_header)
