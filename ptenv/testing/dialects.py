"""How OpenAI-compatible servers differ from OpenAI, for the loopback server's ``dialect``.

Local servers people run (llama.cpp / llama-cpp-python, vLLM, Ollama, LM Studio) speak the Chat
Completions format with rules of their own. Each dialect here enforces or produces one set of
those differences, so the agents' conversation tests run against all of them:

* ``openai`` -- the provider's own rules (the default; the tests check the conversations).
* ``llamacpp`` -- llama-cpp-python's server with ``--chat_format chatml-function-calling``: an
  assistant message's ``content`` must be a string (``null`` is a 500 naming
  ``ChatCompletionRequestAssistantMessage.content``; a missing field is a 500 from the format's
  template, which reads ``message.content``), and the tools are rendered into the prompt
  only when ``tool_choice`` is given: without it the model never sees them and answers in text.
  Its tool-call ids restart at ``call_0`` in every reply (ids are reused across turns).
* ``ollama`` -- tool calls without ``id`` and with ``arguments`` as a JSON object, not a string.
* ``textcalls`` -- a server without a tool-call parser for the model: the calls come back inside
  the text as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, ``tool_calls`` empty.
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.testing.wire import Error, Reply, Text, ToolCalls

DIALECTS: tuple[str, ...] = ("openai", "llamacpp", "ollama", "textcalls")

#: What llama-cpp-python's server answers (500) to an assistant turn sent with ``"content": null``.
LLAMACPP_NULL_CONTENT = "1 validation error for ChatCompletionRequestAssistantMessage\ncontent\n  Input should be a valid string [type=string_type, input_value=None]"
#: ... and to one without ``content`` (its ``chatml-function-calling`` template reads the field).
LLAMACPP_NO_CONTENT = "'dict object' has no attribute 'content'"


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    return dialect


def check_request(dialect: str, provider: str, body: dict[str, Any]) -> Error | None:
    """The error this dialect's server answers to ``body``, if any."""
    if provider != "openai" or dialect != "llamacpp":
        return None
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "assistant":
            if "content" not in m:
                return Error(500, LLAMACPP_NO_CONTENT)
            if not isinstance(m["content"], str):
                return Error(500, LLAMACPP_NULL_CONTENT)
    return None


def seen_reply(dialect: str, body: dict[str, Any], reply: Reply) -> Reply:
    """What the model can answer under this dialect: without ``tool_choice`` a llamacpp model was
    never shown the tools, so it cannot call them and answers in text."""
    if dialect == "llamacpp" and isinstance(reply, ToolCalls) and "tool_choice" not in body:
        return Text(reply.text or "I can help with that, but I have no tools to do it.", delay=reply.delay)
    if dialect == "textcalls" and isinstance(reply, ToolCalls):
        blocks = ["<tool_call>" + json.dumps({"name": name, "arguments": _as_object(args)}) + "</tool_call>" for name, args in reply.calls]
        return Text("\n".join([*([reply.text] if reply.text else []), *blocks]), delay=reply.delay)
    return reply


def shape_completion(dialect: str, completion: dict[str, Any]) -> dict[str, Any]:
    """The completion as this dialect's server returns it."""
    calls = completion["choices"][0]["message"].get("tool_calls") or []
    if dialect == "ollama":
        for call in calls:
            call.pop("id", None)
            call["function"]["arguments"] = _as_object(call["function"]["arguments"])
    elif dialect == "llamacpp":
        for i, call in enumerate(calls):
            call["id"] = f"call_{i}"
    return completion


def _as_object(args: Any) -> Any:
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError:
            return args  # malformed stays as sent: the agent must still cope
    return dict(args)
