"""A loopback HTTP server speaking the OpenAI Chat Completions and Anthropic Messages wire formats.

For offline tests and benchmarks driven through the *real* ``openai`` and ``anthropic`` SDKs: the SDKs
talk HTTP to this server on 127.0.0.1 (ephemeral port); nothing of the SDKs is mocked.  Standard
library only.

Endpoints (a missing ``/v1`` prefix is accepted too):

- ``POST /v1/chat/completions`` -- OpenAI; errors as ``{"error": {"message", "type", "param", "code"}}``.
- ``POST /v1/messages`` -- Anthropic; errors as ``{"type": "error", "error": {"type", "message"}}``.

Streaming (``"stream": true``) is refused with a 400.  Usage counts are deterministic estimates:
``len(request body) // 4`` input tokens, ``len(reply text + tool arguments) // 4 + 1`` output tokens.

Reply kinds (frozen dataclasses; every kind has ``delay`` seconds, slept before answering on top of
``srv.latency``):

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

``srv.latency`` (seconds) delays every request; ``srv.in_flight_peak`` is the highest number of requests
handled at once; ``srv.errors`` lists exceptions raised by ``srv.handler`` (answered as 500 with
``x-should-retry: false``).  With neither a queued reply nor a handler (or a handler returning None) the
reply is ``Text("done")``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeAlias

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

PROVIDERS = ("openai", "anthropic")


@dataclass(frozen=True)
class Text:
    """A plain text reply."""

    text: str = "done"
    delay: float = 0.0


@dataclass(frozen=True)
class ToolCalls:
    """One or more tool calls, optionally preceded by text. ``arguments``: a dict or a raw (maybe malformed) string."""

    calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    text: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Error:
    """An HTTP error in the provider's error body format."""

    status: int
    message: str = ""
    type: str | None = None
    code: str | None = None
    retry_after_ms: float | None = 1.0
    should_retry: bool | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Timeout:
    """Sleep ``seconds`` (longer than the client's timeout), then answer 504."""

    seconds: float = 1.0

    @property
    def delay(self) -> float:
        return self.seconds


Reply: TypeAlias = Text | ToolCalls | Error | Timeout
ReplyLike: TypeAlias = Reply | str | Mapping[str, Any]
Handler: TypeAlias = Callable[[str, dict[str, Any]], ReplyLike | None]


class Request(NamedTuple):
    """One received request; unpacks as ``(provider, path, headers, body)``."""

    provider: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def coerce_reply(reply: ReplyLike) -> Reply:
    """Turn a reply or one of its shorthands (str, dict) into a reply dataclass; ValueError if it is none."""
    if isinstance(reply, Text | ToolCalls | Error | Timeout):
        return reply
    if isinstance(reply, str):
        return Text(reply)
    if isinstance(reply, Mapping):
        delay = float(reply.get("delay", 0.0))
        if "error" in reply:
            return Error(int(reply["error"]), str(reply.get("message", "")), delay=delay)
        if "timeout" in reply:
            return Timeout(float(reply["timeout"]))
        if "tool_calls" in reply:
            calls: list[tuple[str, Mapping[str, Any] | str]] = []
            for call in reply["tool_calls"]:
                if isinstance(call, Mapping):
                    calls.append((str(call["name"]), call.get("arguments", {})))
                else:
                    name, args = call
                    calls.append((str(name), args))
            text = reply.get("text")
            return ToolCalls(calls, None if text is None else str(text), delay=delay)
        if "text" in reply:
            return Text(str(reply["text"]), delay=delay)
    raise ValueError(f"not a loopback reply: {reply!r}")


# ----------------------------------------------------------------------------------------------------------------------
# wire formats

_OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions")
_ANTHROPIC_PATHS = ("/v1/messages", "/messages")
_RETRYABLE = (408, 409, 429)

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _provider_of(path: str) -> str:
    return "anthropic" if path.startswith(_ANTHROPIC_PATHS) else "openai"


def _openai_error_type(status: int) -> tuple[str, str | None]:
    if status == 429:
        return "requests", "rate_limit_exceeded"
    if status >= 500:
        return "server_error", None
    if status == 401:
        return "invalid_request_error", "invalid_api_key"
    return "invalid_request_error", None


def _default_message(status: int) -> str:
    return {
        400: "bad request",
        401: "invalid api key",
        404: "not found",
        429: "rate limit exceeded (loopback)",
        500: "internal server error (loopback)",
        504: "the loopback server timed out",
    }.get(status, f"loopback error {status}")


def _error_body(provider: str, err: Error, request_id: str) -> dict[str, Any]:
    message = err.message or _default_message(err.status)
    if provider == "anthropic":
        kind = err.type or _ANTHROPIC_ERROR_TYPES.get(err.status, "api_error" if err.status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    kind, code = _openai_error_type(err.status)
    return {"error": {"message": message, "type": err.type or kind, "param": None, "code": err.code if err.code is not None else code}}


def _error_headers(err: Error) -> dict[str, str]:
    headers: dict[str, str] = {}
    if err.status in _RETRYABLE or err.status >= 500:
        headers["retry-after"] = "0"
        if err.retry_after_ms is not None:
            headers["retry-after-ms"] = f"{err.retry_after_ms:g}"
    if err.should_retry is not None:
        headers["x-should-retry"] = "true" if err.should_retry else "false"
    return headers


def _openai_arguments(args: Mapping[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(dict(args))


def _anthropic_input(args: Mapping[str, Any] | str) -> dict[str, Any]:
    if not isinstance(args, str):
        return dict(args)
    try:
        parsed = json.loads(args)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _output_tokens(reply: Text | ToolCalls) -> int:
    if isinstance(reply, Text):
        size = len(reply.text)
    else:
        size = len(reply.text or "") + sum(len(_openai_arguments(args)) for _, args in reply.calls)
    return size // 4 + 1


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

    def __init__(self, *, latency: float = 0.0, handler: Handler | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency: float = latency
        self.handler: Handler | None = handler
        self.requests: list[Request] = []
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
            provider = _provider_of(req.path)
            req.send_json(500, _error_body(provider, Error(500, f"loopback server error: {exc}"), "req_error"), {})
            req.close_connection = True
        finally:
            with self._lock:
                self._stats.in_flight -= 1

    def _serve_one(self, req: _RequestHandler) -> None:
        path = req.path.split("?", 1)[0].rstrip("/")
        provider = _provider_of(path)
        headers = {k.lower(): v for k, v in req.headers.items()}
        raw, body, problem = self._read_body(req)
        if problem is None and req.command != "POST":
            problem = Error(405, f"method {req.command} not allowed")
        if problem is None and path not in _OPENAI_PATHS + _ANTHROPIC_PATHS:
            problem = Error(404, f"no such endpoint: {req.command} {path}")
        if problem is None and body.get("stream"):
            problem = Error(400, "streaming is not supported by the loopback server")
        with self._lock:
            self.requests.append(Request(provider, req.path, headers, body))
        reply = problem if problem is not None else self._next_reply(provider, body)
        n = self._next_id()
        request_id = f"req_loopback{n:08d}"

        wait = self.latency + reply.delay
        if wait > 0 and self._stop.wait(wait):
            req.close_connection = True
            return
        id_header = {"request-id": request_id} if provider == "anthropic" else {"x-request-id": request_id}
        if isinstance(reply, Timeout):
            reply = Error(504)
        if isinstance(reply, Error):
            req.send_json(reply.status, _error_body(provider, reply, request_id), {**id_header, **_error_headers(reply)})
            return
        model = str(body.get("model") or "loopback")
        usage_in = len(raw) // 4
        usage_out = _output_tokens(reply)
        if provider == "anthropic":
            answer = self._anthropic_message(reply, model, n, usage_in, usage_out)
        else:
            answer = self._openai_completion(reply, model, n, usage_in, usage_out)
        req.send_json(200, answer, id_header)

    @staticmethod
    def _read_body(req: _RequestHandler) -> tuple[bytes, dict[str, Any], Error | None]:
        length_header = req.headers.get("Content-Length")
        if length_header is None:
            if req.command == "POST":
                req.close_connection = True  # the body (if any) was not read: do not reuse the connection
                return b"", {}, Error(400, "a JSON request body with Content-Length is required")
            return b"", {}, None
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            req.close_connection = True
            return b"", {}, Error(400, f"bad Content-Length: {length_header!r}")
        raw = req.rfile.read(length) if length else b""
        if req.command != "POST":
            return raw, {}, None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return raw, {"_invalid_body": raw[:2000].decode("utf-8", "replace")}, Error(400, f"the request body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return raw, {"_invalid_body": body}, Error(400, "the request body must be a JSON object")
        return raw, body, None

    @staticmethod
    def _openai_completion(reply: Text | ToolCalls, model: str, n: int, usage_in: int, usage_out: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        finish = "stop"
        if isinstance(reply, ToolCalls):
            message["tool_calls"] = [
                {"id": f"call_loopback{n:08d}_{i}", "type": "function", "function": {"name": name, "arguments": _openai_arguments(args)}}
                for i, (name, args) in enumerate(reply.calls)
            ]
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-loopback{n:08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out},
        }

    @staticmethod
    def _anthropic_message(reply: Text | ToolCalls, model: str, n: int, usage_in: int, usage_out: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.text is not None and (reply.text or isinstance(reply, Text)):
            content.append({"type": "text", "text": reply.text})
        stop = "end_turn"
        if isinstance(reply, ToolCalls):
            content += [
                {"type": "tool_use", "id": f"toolu_loopback{n:08d}_{i}", "name": name, "input": _anthropic_input(args)}
                for i, (name, args) in enumerate(reply.calls)
            ]
            stop = "tool_use"
        return {
            "id": f"msg_loopback{n:08d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
        }
