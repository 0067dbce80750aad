"""An agent on OpenAI's Chat Completions tool calling, for OpenAI and any compatible server
(vLLM, llama.cpp, …: give ``base_url``). The SDK is imported only when a request is made.

The conversation stays valid: every tool call of a reply is answered by a ``tool`` message
before the next request. Calls whose ``arguments`` string is not a JSON object are answered
locally with an error (the model sees it and can fix the call); the others go to the env as one
action. A reply without tool calls means the agent is done (``finish``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ptenv.llm.client import sdk_client

from .llm_common import ConversationAgent, result_texts, shared_async_client


class OpenAIAgent(ConversationAgent):
    name = "openai"
    provider = "openai"
    default_key_env = "OPENAI_API_KEY"

    def __init__(self, seed: int | None = 0, **config: Any):
        super().__init__(seed, **config)
        self._messages: list[dict[str, Any]] = []

    def _start(self) -> None:
        assert self._ctx is not None
        self._messages = [{"role": "system", "content": self._ctx.system}, {"role": "user", "content": self._ctx.query}]
        self._pending = []
        self._ids: set[str] = set()  # tool-call ids used in this conversation

    def _results(self, obs: dict[str, Any]) -> None:
        for call_id, (text, _) in zip(self._pending, result_texts(obs, len(self._pending)), strict=True):
            self._messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        self._pending = []

    def _request_body(self) -> dict[str, Any]:
        assert self._ctx is not None
        tools = [
            {"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]}}
            for t in self._ctx.tools
        ]
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": self._messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        if tools:
            body["tools"] = tools
            # sent every time: llama-cpp-python's function-calling format shows the tools only then
            body["tool_choice"] = self.config.tool_choice
        return body

    def _reply(self, resp: dict[str, Any]) -> str | None:
        message = resp["choices"][0]["message"]
        text = message.get("content") if isinstance(message.get("content"), str) else ""
        calls = self._calls(message.get("tool_calls") or [], text)
        # echo the assistant turn in the request's own shape: content always a string (llama-cpp-
        # python refuses null, and its function-calling template fails on a missing field; "" is
        # what every server takes), calls with this conversation's ids and JSON-string arguments
        turn: dict[str, Any] = {"role": "assistant"}
        if calls:
            turn["content"] = text if text and not calls[0].get("from_text") else ""
            turn["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["raw"]}} for c in calls
            ]
        else:
            turn["content"] = text
        self._messages.append(turn)
        if not calls:
            return json.dumps({"name": "finish", "arguments": {"message": text}})
        forward = []
        for call in calls:
            args, problem = call["arguments"], None
            if isinstance(args, str):
                try:
                    args = json.loads(args or "{}")
                except json.JSONDecodeError as exc:
                    problem = exc.msg
            if problem is None and not isinstance(args, dict):
                problem = "arguments must be a JSON object"
            if problem is not None:
                err = {
                    "error": {"code": "invalid_arguments", "message": f"arguments of {call['name']} are not a valid JSON object: {problem}"}
                }
                self._messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(err)})
                continue
            forward.append({"name": call["name"], "arguments": args})
            self._pending.append(call["id"])
        if not forward:  # every call was malformed: the model sees the errors and tries again
            return None
        return json.dumps(forward)  # the env's results will answer the pending calls

    def _calls(self, raw_calls: list[Any], text: str) -> list[dict[str, Any]]:
        """A reply's tool calls as ``{id, name, arguments, raw}``, whatever shape the server gave:
        ids missing or reused (given fresh ones, unique in the conversation), arguments as a JSON
        object instead of a string, or (no ``tool_calls``) calls written in the text."""
        found: list[dict[str, Any]] = []
        for c in raw_calls:
            fn = c.get("function") if isinstance(c, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                found.append({"id": c.get("id"), "name": fn["name"], "arguments": fn.get("arguments")})
        if not found and text:
            names = {t["name"] for t in self._ctx.tools} if self._ctx is not None else set()
            found = [{"id": None, "name": n, "arguments": a, "from_text": True} for n, a in text_calls(text, names)]
        for c in found:
            if not isinstance(c["id"], str) or not c["id"] or c["id"] in self._ids:
                c["id"] = f"call_ptenv_{len(self._ids)}"
            self._ids.add(c["id"])
            args = c["arguments"]
            c["raw"] = args if isinstance(args, str) else json.dumps(args if args is not None else {}, ensure_ascii=False)
            if args is None:
                c["arguments"] = {}
        return found

    # The body is already in the wire format, so it goes out through the SDK's documented request
    # method (auth, retries, timeouts and error classes as usual) rather than ``create()``, whose
    # per-request conversion of the typed parameters costs ~1 ms of CPU: at concurrency 16 against
    # a 50 ms server that alone kept an evaluation from 90% of the ideal request rate.
    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._client is None:
            self._client = sdk_client("openai", **self._client_kwargs())
        return _json_object(self._client.post("/chat/completions", body=body, cast_to=object))

    async def _asend(self, body: dict[str, Any]) -> dict[str, Any]:
        client = shared_async_client("openai", self._client_kwargs())
        return _json_object(await client.post("/chat/completions", body=body, cast_to=object))


_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)
_FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.S)


def text_calls(text: str, names: set[str]) -> list[tuple[str, Any]]:
    """Tool calls a model wrote in its text (servers without a tool-call parser for it):
    ``<tool_call>{...}</tool_call>`` blocks (Hermes, Qwen), else the whole text (or one fenced
    block) as a JSON object or list of ``{"name", "arguments" | "parameters"}``. Only names of the
    offered tools count, so a final answer that happens to hold JSON is not taken for a call."""
    blobs = _TAGGED.findall(text)
    if not blobs:
        fenced = _FENCED.fullmatch(text.strip())
        blobs = [fenced.group(1) if fenced else text.strip()]
    out: list[tuple[str, Any]] = []
    for blob in blobs:
        try:
            data = json.loads(blob)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and item.get("name") in names:
                out.append((item["name"], item.get("arguments", item.get("parameters", {}))))
    return out


def _json_object(data: Any) -> dict[str, Any]:
    """A reply's JSON, which must be an object (a server may answer with text)."""
    if not isinstance(data, dict):
        raise ValueError(f"the server's reply is not a JSON object: {str(data)[:200]!r}")
    return data
