"""The providers' wire formats as the loopback server speaks them: the reply kinds a test
scripts (:class:`Text`, :class:`ToolCalls`, :class:`Error`, :class:`Timeout`), their shorthands,
error bodies and headers, and the OpenAI chat completion and Anthropic message bodies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

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

OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions")
MODELS_PATHS = ("/v1/models", "/models")
ANTHROPIC_PATHS = ("/v1/messages", "/messages")
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


def provider_of(path: str) -> str:
    return "anthropic" if path.startswith(ANTHROPIC_PATHS) else "openai"


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


def error_body(provider: str, err: Error, request_id: str) -> dict[str, Any]:
    message = err.message or _default_message(err.status)
    if provider == "anthropic":
        kind = err.type or _ANTHROPIC_ERROR_TYPES.get(err.status, "api_error" if err.status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    kind, code = _openai_error_type(err.status)
    return {"error": {"message": message, "type": err.type or kind, "param": None, "code": err.code if err.code is not None else code}}


def error_headers(err: Error) -> dict[str, str]:
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


def output_tokens(reply: Text | ToolCalls) -> int:
    if isinstance(reply, Text):
        size = len(reply.text)
    else:
        size = len(reply.text or "") + sum(len(_openai_arguments(args)) for _, args in reply.calls)
    return size // 4 + 1


def openai_completion(reply: Text | ToolCalls, model: str, n: int, usage_in: int, usage_out: int) -> dict[str, Any]:
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


def anthropic_message(reply: Text | ToolCalls, model: str, n: int, usage_in: int, usage_out: int) -> dict[str, Any]:
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


def model_listing(provider: str) -> dict[str, Any]:
    """The answer to ``GET /v1/models``: one model, ``loopback``, in the provider's shape."""
    if provider == "anthropic":
        model = {"type": "model", "id": "loopback", "display_name": "loopback", "created_at": "2026-01-01T00:00:00Z"}
        return {"data": [model], "has_more": False, "first_id": "loopback", "last_id": "loopback"}
    return {"object": "list", "data": [{"id": "loopback", "object": "model", "created": 0, "owned_by": "ptenv"}]}


def read_body(req: Any) -> tuple[bytes, dict[str, Any], Error | None]:
    """A request's raw body, its JSON object, and the error to answer when it is not one."""
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
