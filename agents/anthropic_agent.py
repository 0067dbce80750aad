"""An agent on Anthropic's Messages API tool use. The SDK is imported only when a request is made.

Roles alternate: the user's request, then each assistant turn (text and ``tool_use`` blocks)
answered by one user turn of ``tool_result`` blocks (``is_error`` when a call failed), in the
order of the calls. A ``tool_use`` whose input is not an object is answered locally with an
error. A turn without ``tool_use`` means the agent is done (``finish``). ``max_tokens`` is always
sent (the API requires it); ``base_url`` is the server root. The current SDK's ``messages.create``
takes no ``temperature``, so none is sent (the model's default applies).
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.llm.client import sdk_client

from .llm_common import ConversationAgent, result_texts, shared_async_client

#: ``--tool-choice`` in Anthropic's words.
_TOOL_CHOICE = {"auto": "auto", "required": "any", "none": "none"}


class AnthropicAgent(ConversationAgent):
    name = "anthropic"
    provider = "anthropic"
    default_key_env = "ANTHROPIC_API_KEY"
    usage_keys = ("input_tokens", "output_tokens")

    def __init__(self, seed: int | None = 0, **config: Any):
        config.setdefault("model", "claude-sonnet-4-5")
        super().__init__(seed, **config)
        self._messages: list[dict[str, Any]] = []
        self._local: list[dict[str, Any]] = []  # tool_result blocks answered without the env

    def _start(self) -> None:
        assert self._ctx is not None
        self._messages = [{"role": "user", "content": self._ctx.query}]
        self._pending, self._local = [], []

    def _results(self, obs: dict[str, Any]) -> None:
        blocks = list(self._local)
        for call_id, (text, is_error) in zip(self._pending, result_texts(obs, len(self._pending)), strict=True):
            blocks.append({"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": is_error})
        self._messages.append({"role": "user", "content": blocks})
        self._pending, self._local = [], []

    def _request_body(self) -> dict[str, Any]:
        assert self._ctx is not None
        body: dict[str, Any] = {
            "model": self.config.model,
            "system": self._ctx.system,
            "messages": self._messages,
            "max_tokens": self.config.max_tokens,
        }
        if self._ctx.tools:
            body["tools"] = [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]} for t in self._ctx.tools]
            body["tool_choice"] = {"type": _TOOL_CHOICE[self.config.tool_choice]}
        return body

    def _reply(self, resp: dict[str, Any]) -> str | None:
        content = [b for b in resp.get("content", []) if b.get("type") in ("text", "tool_use")]
        turn = []
        for b in content:
            if b["type"] == "text":
                turn.append({"type": "text", "text": b["text"]})
            else:
                turn.append({"type": "tool_use", "id": b["id"], "name": b["name"], "input": b.get("input")})
        self._messages.append({"role": "assistant", "content": turn or [{"type": "text", "text": ""}]})
        uses = [b for b in content if b["type"] == "tool_use"]
        if not uses:
            text = " ".join(b["text"] for b in content if b["type"] == "text")
            return json.dumps({"name": "finish", "arguments": {"message": text}})
        forward = []
        for b in uses:
            if not isinstance(b.get("input"), dict):
                msg = f"input of {b['name']} must be a JSON object"
                self._local.append({"type": "tool_result", "tool_use_id": b["id"], "content": json.dumps({"error": msg}), "is_error": True})
                continue
            forward.append({"name": b["name"], "arguments": b["input"]})
            self._pending.append(b["id"])
        if not forward:  # answer the malformed calls and ask again (roles still alternate)
            self._messages.append({"role": "user", "content": self._local})
            self._local = []
            return None
        return json.dumps(forward)

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._client is None:
            self._client = sdk_client("anthropic", **self._client_kwargs())
        resp = self._client.messages.create(**body)
        data: dict[str, Any] = resp.model_dump(mode="json")
        return data

    async def _asend(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = await shared_async_client("anthropic", self._client_kwargs()).messages.create(**body)
        data: dict[str, Any] = resp.model_dump(mode="json")
        return data
