"""What the LLM agents share: the provider-neutral conversation loop (observations in, actions
out, the response cache and usage counts) and the system prompt. Settings, keys and the cache
itself live in :mod:`ptenv.llm.client` (the core's LLM-backed user uses them too).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from ptenv.core.observations import parse_observation
from ptenv.llm.client import FIT_HINT, LLMConfig, ResponseCache, api_key, check_fits, scrub, sdk_client

__all__ = ["ConversationAgent", "LLMConfig", "ResponseCache", "TaskContext", "Usage", "api_key", "result_texts", "system_prompt"]


@dataclass
class Usage:
    requests: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: The largest prompt of one request (the server's count): what the model's context must hold.
    max_input_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "max_input_tokens": self.max_input_tokens,
        }


@dataclass
class TaskContext:
    """The current request, as the task observation gave it."""

    system: str
    query: str
    tools: list[dict[str, Any]] = field(default_factory=list)


def system_prompt(obs: dict[str, Any], memory: list[str]) -> str:
    """The system prompt for a task observation: exactly what the visibility mode lets the agent see."""
    lines = [str(obs.get("instructions", "")), "", f"Current time: {obs.get('now')}", f"Scenario: {obs.get('scenario')}", "Platforms:"]
    lines += [f"- {p['name']} (tool prefix {p['id']}__): {p['summary']}" for p in obs.get("platforms", [])]
    if obs.get("notices"):  # ptenv-v2: what the world says before the request
        lines += ["", "Notices:"] + [f"- {n}" for n in obs["notices"]]
    if obs.get("policies"):  # ptenv-v2: the user's employer's rules
        lines += ["", "Policies that apply to this user:"] + [f"- {p}" for p in obs["policies"]]
    user = obs.get("user", {})
    if user.get("profile"):
        lines += ["", "What you know about the user:", str(user["profile"])]
    else:
        lines += ["", str(user.get("note", "The user's profile is hidden."))]
    if memory:
        lines += ["", "Feedback from this user on earlier requests in this session:"] + [f"- {m}" for m in memory]
    lines += ["", "When the request is done, call finish (or answer in plain text)."]
    return "\n".join(lines)


class ConversationAgent:
    """The provider-neutral half of a tool-calling agent: it turns observations into the next
    request and replies into actions. Subclasses speak one provider's wire format."""

    provider = "none"
    default_key_env = "OPENAI_API_KEY"
    #: The tool views this agent works in (the CLI refuses any other before the run starts).
    tool_views: tuple[str, ...] = ("full", "compact", "platform_first")
    #: What to change when a request does not fit ``--context-tokens``.
    fit_hint = FIT_HINT
    #: Where a response reports its input and output tokens.
    usage_keys = ("prompt_tokens", "completion_tokens")

    def __init__(self, seed: int | None = 0, **config: Any):
        self.config = LLMConfig(**config)
        self.cache = ResponseCache(self.config.cache_dir)
        self.usage = Usage()
        self._seed = seed
        self._memory: list[str] = []
        self._ctx: TaskContext | None = None
        self._pending: list[str] = []  # ids of the tool calls forwarded to the env, in order
        self._client: Any = None  # the sync SDK client, made on first use

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None  # clients hold sockets: rebuilt on demand
        return state

    def preflight(self) -> None:
        """Reach the server once with the key, before an evaluation's first episode: a listing of
        its models, which costs no tokens. A missing or refused key, or a server that cannot be
        reached, is one clear line (``ValueError``); a server without a model listing passes."""
        kwargs = {**self._client_kwargs(), "max_retries": 0, "timeout": min(self.config.timeout, 20.0)}
        where = self.config.base_url or f"the {self.provider} API"
        try:
            with sdk_client(self.provider, **kwargs) as client:
                client.models.list()
        except Exception as exc:  # the SDKs' error classes share these names
            kind = type(exc).__name__
            if kind in ("AuthenticationError", "PermissionDeniedError"):
                env = self.config.api_key_env or self.default_key_env
                raise ValueError(scrub(f"{where} refused the key from {env} ({kind}: {exc})")) from None
            if kind in ("APIConnectionError", "APITimeoutError"):
                raise ValueError(scrub(f"cannot reach {where} ({kind}: {exc}); is the server running, and is --base-url right?")) from None

    def _client_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {"api_key": api_key(c, self.default_key_env), "base_url": c.base_url, "timeout": c.timeout, "max_retries": c.max_retries}

    def _count(self, resp: dict[str, Any], hit: bool) -> None:
        self.usage.requests += 1
        self.usage.cache_hits += hit
        u = resp.get("usage") or {}
        prompt = int(u.get(self.usage_keys[0]) or 0)
        self.usage.input_tokens += prompt
        self.usage.max_input_tokens = max(self.usage.max_input_tokens, prompt)
        self.usage.output_tokens += int(u.get(self.usage_keys[1]) or 0)

    # -- the Agent protocol (sync and async) ------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        self._seed = seed
        self.usage = Usage()
        self._memory = []
        self._ctx = None
        self._pending = []

    def act(self, observation: str) -> str:
        self._observe(parse_observation(observation))
        for _ in range(self.config.max_local_retries + 1):
            action = self._reply(self._cached(self._request_body()))
            if action is not None:
                return action
        return json.dumps({"name": "finish"})

    async def aact(self, observation: str) -> str:
        self._observe(parse_observation(observation))
        for _ in range(self.config.max_local_retries + 1):
            action = self._reply(await self._acached(self._request_body()))
            if action is not None:
                return action
        return json.dumps({"name": "finish"})

    def _cached(self, body: dict[str, Any]) -> dict[str, Any]:
        """The response to ``body``: from the cache, or sent (then cached)."""
        key, resp = self._lookup(body)
        hit = resp is not None
        if resp is None:
            check_fits(body, self.config, self.fit_hint)
            resp = self._send(body)
            self._keep(key, resp)
        self._count(resp, hit=hit)
        return resp

    async def _acached(self, body: dict[str, Any]) -> dict[str, Any]:
        key, resp = self._lookup(body)
        hit = resp is not None
        if resp is None:
            check_fits(body, self.config, self.fit_hint)
            resp = await self._asend(body)
            self._keep(key, resp)
        self._count(resp, hit=hit)
        return resp

    def _lookup(self, body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        # the key encodes the whole body (tens of KB): only worth it when there is a cache
        if self.cache.root is None:
            return None, None
        key = self.cache.key(self.provider, self.config.base_url, body, self._seed)
        return key, self.cache.get(key)

    def _keep(self, key: str | None, resp: dict[str, Any]) -> None:
        if key is not None:
            self.cache.put(key, resp)

    def _observe(self, obs: dict[str, Any]) -> None:
        kind = obs.get("type")
        if kind == "task":
            if obs.get("feedback"):
                self._memory.append(str(obs["feedback"]))
            tools = obs.get("tools") or (self._ctx.tools if self._ctx else [])
            if obs.get("tool_view") == "platform_first":  # a new request: no platform chosen yet
                tools = [t for t in tools if "__" not in t["name"]]
            self._ctx = TaskContext(system=system_prompt(obs, self._memory), query=str(obs["query"]), tools=tools)
            self._start()
        elif kind in ("tool_results", "error"):
            self._take_platform_tools(obs)
            self._results(obs)
        elif kind == "ptbench":
            raise ValueError(f"{type(self).__name__} speaks native tool calling; use the ptbench-text agent for PTBench-v0")

    def _take_platform_tools(self, obs: dict[str, Any]) -> None:
        """The ``platform_first`` view: the chosen platform's tools replace any on offer."""
        if self._ctx is not None:
            self._ctx.tools = with_chosen_platform(self._ctx.tools, obs)

    # -- what subclasses provide -----------------------------------------------------------
    def _start(self) -> None:
        raise NotImplementedError

    def _results(self, obs: dict[str, Any]) -> None:
        raise NotImplementedError

    def _request_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def _asend(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _reply(self, resp: dict[str, Any]) -> str | None:
        raise NotImplementedError


#: Per event loop (and gone with it): the async SDK clients made on it, by provider and settings.
_ASYNC_CLIENTS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def shared_async_client(provider: str, kwargs: dict[str, Any]) -> Any:
    """One async SDK client per provider, settings and event loop, shared by the agent instances of
    a concurrent evaluation (one connection pool instead of one per episode slot)."""
    import asyncio

    clients = _ASYNC_CLIENTS.setdefault(asyncio.get_running_loop(), {})
    key = (provider, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
    client = clients.get(key)
    if client is None:
        client = clients[key] = sdk_client(provider, asynchronous=True, **kwargs)
    return client


def with_chosen_platform(tools: list[dict[str, Any]], obs: dict[str, Any]) -> list[dict[str, Any]]:
    """The tools on offer after a step: in the ``platform_first`` view, ``choose_platform``
    answers with the chosen platform's tools, which replace any platform's tools offered before."""
    for res in obs.get("results") or []:
        out = res.get("output") if res.get("ok") else None
        if res.get("tool") == "choose_platform" and isinstance(out, dict):
            tools = [t for t in tools if "__" not in t["name"]] + [t for t in out.get("tools") or [] if isinstance(t, dict) and "name" in t]
    return tools


def result_texts(obs: dict[str, Any], n: int) -> list[tuple[str, bool]]:
    """The env's answer to the n calls just forwarded, one (text, is_error) per call, in order."""
    if obs.get("type") == "error":
        msg = json.dumps({"error": obs.get("error")}, ensure_ascii=False)
        return [(msg, True)] * n
    results = obs.get("results", [])
    out = []
    for i in range(n):
        if i < len(results):
            r = results[i]
            body = r.get("output") if r.get("ok") else {"error": r.get("error")}
            if r.get("ok") and r.get("tool") == "choose_platform" and isinstance(body, dict):
                # its tools join the request's tool list: the result need not carry them twice
                names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
                body = {"platform": body.get("platform"), "tools_now_available": names}
            out.append((json.dumps(body, ensure_ascii=False), not r.get("ok")))
        else:
            out.append(('{"error": "no result"}', True))
    return out
