"""The loopback LLM server, driven over HTTP by the real openai and anthropic SDKs (nothing of the SDKs is mocked)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from ptenv.testing.loopback import Error, LoopbackLLM, Text, Timeout, ToolCalls, coerce_reply
from ptenv.testing.wire import error_headers

MODEL_OA = "gpt-loopback"
MODEL_AN = "claude-loopback"
USER = [{"role": "user", "content": "hello"}]
OA_KEY = "sk-test"
AN_KEY = "sk-ant-test"


@pytest.fixture
def srv() -> Iterator[LoopbackLLM]:
    with LoopbackLLM() as server:
        yield server


def oa(srv: LoopbackLLM, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=OA_KEY, base_url=srv.openai_base_url, max_retries=kw.pop("max_retries", 2), _strict_response_validation=True, **kw
    )


def an(srv: LoopbackLLM, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=AN_KEY, base_url=srv.anthropic_base_url, max_retries=2, _strict_response_validation=True, **kw)


def ask_oa(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model=MODEL_OA, messages=USER)  # type: ignore[arg-type]


def ask_an(client: anthropic.Anthropic) -> Any:
    return client.messages.create(model=MODEL_AN, max_tokens=64, messages=USER)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------------- OpenAI


def test_openai_text_reply_and_default(srv: LoopbackLLM) -> None:
    srv.script("openai", [Text("hi there")])
    client = oa(srv)
    r = ask_oa(client)
    assert r.object == "chat.completion" and r.model == MODEL_OA and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.content == "hi there" and r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.tool_calls is None
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0
    # empty queue, no handler: "done"
    assert ask_oa(client).choices[0].message.content == "done"
    provider, path, headers, body = srv.requests[0]
    assert (provider, path) == ("openai", "/v1/chat/completions")
    assert body["messages"] == USER and body["model"] == MODEL_OA


def test_openai_tool_calls_keep_malformed_arguments(srv: LoopbackLLM) -> None:
    bad = '{"city": "Paris", '
    srv.script("openai", [ToolCalls([("get_weather", bad), ("search", {"q": "x"})])])
    r = ask_oa(oa(srv))
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls" and msg.content is None
    assert msg.tool_calls is not None and len(msg.tool_calls) == 2
    first, second = msg.tool_calls
    assert first.type == "function" and first.id.startswith("call_") and first.id != second.id
    assert first.function.name == "get_weather" and first.function.arguments == bad
    assert json.loads(second.function.arguments) == {"q": "x"}


def test_openai_429_then_success_is_retried(srv: LoopbackLLM) -> None:
    srv.script("openai", [Error(429, "slow down"), "ok"])
    assert ask_oa(oa(srv)).choices[0].message.content == "ok"
    assert len(srv.requests) == 2 and srv.requests[1].headers.get("x-stainless-retry-count") == "1"
    # what makes the SDK retry at once (no duration asserted: a busy machine may be slow anyway)
    assert error_headers(Error(429))["retry-after-ms"] == "1"


def test_openai_500_then_success_is_retried(srv: LoopbackLLM) -> None:
    srv.script("openai", [Error(500), "recovered"])
    assert ask_oa(oa(srv)).choices[0].message.content == "recovered"
    assert len(srv.requests) == 2


def test_openai_timeout_is_retried(srv: LoopbackLLM) -> None:
    srv.script("openai", [Text("too late", delay=1.0), "in time"])
    assert ask_oa(oa(srv, timeout=0.3)).choices[0].message.content == "in time"
    assert len(srv.requests) == 2


def test_openai_persistent_500_exhausts_retries(srv: LoopbackLLM) -> None:
    srv.script("openai", [Error(500, "boom")] * 3)
    with pytest.raises(openai.InternalServerError) as info:
        ask_oa(oa(srv))
    assert info.value.status_code == 500 and len(srv.requests) == 3
    assert isinstance(info.value.body, dict) and info.value.body["message"] == "boom" and info.value.body["type"] == "server_error"


def test_openai_400_is_not_retried(srv: LoopbackLLM) -> None:
    srv.script("openai", [Error(400, "bad tools")])
    with pytest.raises(openai.BadRequestError, match="bad tools"):
        ask_oa(oa(srv))
    assert len(srv.requests) == 1


# ---------------------------------------------------------------------------------------------------------------------- Anthropic


def test_anthropic_text_reply(srv: LoopbackLLM) -> None:
    srv.script("anthropic", ["bonjour"])
    m = ask_an(an(srv))
    assert m.type == "message" and m.role == "assistant" and m.model == MODEL_AN and m.id.startswith("msg_")
    assert m.stop_reason == "end_turn" and m.stop_sequence is None
    assert [b.type for b in m.content] == ["text"] and m.content[0].text == "bonjour"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    provider, path, _, body = srv.requests[0]
    assert (provider, path) == ("anthropic", "/v1/messages") and body["messages"] == USER and body["max_tokens"] == 64


def test_anthropic_tool_use(srv: LoopbackLLM) -> None:
    srv.script("anthropic", [ToolCalls([("get_weather", {"city": "Paris"}), ("search", '{"q": "x"}')], text="Let me check.")])
    m = ask_an(an(srv))
    assert m.stop_reason == "tool_use"
    assert [b.type for b in m.content] == ["text", "tool_use", "tool_use"]
    uses = [b for b in m.content if b.type == "tool_use"]
    assert uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"} and uses[0].id.startswith("toolu_")
    assert isinstance(uses[1].input, dict) and uses[1].input == {"q": "x"}


def test_anthropic_429_then_success(srv: LoopbackLLM) -> None:
    srv.script("anthropic", [Error(429), "after the storm"])
    m = ask_an(an(srv))
    assert m.content[0].text == "after the storm" and len(srv.requests) == 2


def test_anthropic_errors_have_the_anthropic_format(srv: LoopbackLLM) -> None:
    srv.script("anthropic", [Error(400, "max_tokens is required")])
    with pytest.raises(anthropic.BadRequestError) as info:
        ask_an(an(srv))
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens is required"},
        "request_id": info.value.request_id,
    }
    assert info.value.request_id is not None and info.value.request_id.startswith("req_")


def test_anthropic_handler_is_used_when_the_queue_is_empty(srv: LoopbackLLM) -> None:
    seen: list[tuple[str, int]] = []

    def model(provider: str, request: dict[str, Any]) -> Any:
        seen.append((provider, len(request["messages"])))
        if len(request["messages"]) == 1:
            return ToolCalls([("lookup", {"id": 7})])
        return Text(f"got {request['messages'][-1]['content'][0]['content']}")

    srv.handler = model
    srv.script("anthropic", ["scripted first"])
    client = an(srv)
    assert ask_an(client).content[0].text == "scripted first"
    first = ask_an(client)
    assert first.stop_reason == "tool_use"
    tool = first.content[0]
    follow = [
        *USER,
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool.id, "name": tool.name, "input": tool.input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny"}]},
    ]
    second = client.messages.create(model=MODEL_AN, max_tokens=64, messages=follow)  # type: ignore[arg-type]
    assert second.content[0].text == "got sunny"  # type: ignore[union-attr]
    assert seen == [("anthropic", 1), ("anthropic", 3)]
    assert srv.requests[-1].body["messages"][1]["content"][0]["id"] == tool.id


def test_a_raising_handler_answers_500_once(srv: LoopbackLLM) -> None:
    def broken(provider: str, request: dict[str, Any]) -> Any:
        raise KeyError("nope")

    srv.handler = broken
    with pytest.raises(anthropic.InternalServerError, match="KeyError"):
        ask_an(an(srv))
    assert len(srv.requests) == 1 and isinstance(srv.errors[0], KeyError)  # x-should-retry: false


# ---------------------------------------------------------------------------------------------------------------------- both


def test_api_keys_travel_only_in_headers(srv: LoopbackLLM) -> None:
    ask_oa(oa(srv))
    ask_an(an(srv))
    for (provider, path, headers, body), key in zip(srv.requests, (OA_KEY, AN_KEY), strict=True):
        assert all(k == k.lower() for k in headers)
        carriers = [k for k, v in headers.items() if key in v]
        assert len(carriers) == 1 and carriers[0] in ("authorization", "x-api-key"), provider
        assert key not in json.dumps(body) and key not in path
    assert srv.requests[0].headers["authorization"] == f"Bearer {OA_KEY}"
    # anthropic 2.x sends an api_key as "Authorization: Bearer ..." (older SDKs used "x-api-key")
    an_headers = srv.requests[1].headers
    assert an_headers.get("x-api-key") == AN_KEY or an_headers.get("authorization") == f"Bearer {AN_KEY}"
    assert "anthropic-version" in an_headers


def test_async_clients_run_concurrently(srv: LoopbackLLM) -> None:
    srv.latency = 0.05

    async def main() -> tuple[list[Any], list[Any]]:
        oa_client = openai.AsyncOpenAI(api_key=OA_KEY, base_url=srv.openai_base_url, max_retries=2)
        an_client = anthropic.AsyncAnthropic(api_key=AN_KEY, base_url=srv.anthropic_base_url, max_retries=2)
        async with oa_client, an_client:
            oa_rs = await asyncio.gather(*(oa_client.chat.completions.create(model=MODEL_OA, messages=USER) for _ in range(8)))  # type: ignore[arg-type]
            peak_oa = srv.in_flight_peak
            an_rs = await asyncio.gather(*(an_client.messages.create(model=MODEL_AN, max_tokens=8, messages=USER) for _ in range(8)))  # type: ignore[arg-type]
        assert peak_oa >= 4
        return list(oa_rs), list(an_rs)

    oa_rs, an_rs = asyncio.run(main())
    assert srv.in_flight_peak >= 4 and srv.in_flight == 0  # handled at once, not one after another
    assert all(r.choices[0].message.content == "done" for r in oa_rs) and all(m.content[0].text == "done" for m in an_rs)
    assert len({r.id for r in oa_rs}) == 8 and len(srv.requests) == 16


def test_bad_requests_get_400_in_the_provider_format_and_the_server_survives(srv: LoopbackLLM) -> None:
    def post(path: str, data: bytes) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(srv.url + path, data=data, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, body = post("/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error" and body["error"]["param"] is None
    status, body = post("/v1/messages", b"[1, 2]")
    assert status == 400 and body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    status, body = post("/v1/nowhere", b"{}")
    assert status == 404 and "error" in body
    status, body = post("/v1/chat/completions", json.dumps({"model": "m", "messages": USER, "stream": True}).encode())
    assert status == 400 and "stream" in body["error"]["message"]
    assert ask_oa(oa(srv)).choices[0].message.content == "done"


def test_timeout_reply_and_shorthands(srv: LoopbackLLM) -> None:
    assert coerce_reply({"tool_calls": [{"name": "f", "arguments": "{"}], "delay": 0.1}) == ToolCalls([("f", "{")], delay=0.1)
    assert coerce_reply({"error": 429, "message": "m"}) == Error(429, "m")
    assert coerce_reply({"timeout": 2}) == Timeout(2.0)
    with pytest.raises(ValueError):
        srv.script("gemini", ["x"])
    with pytest.raises(ValueError):
        srv.script("openai", [42])  # type: ignore[list-item]
    srv.script("anthropic", [Timeout(0.6), {"text": "second try"}])
    assert ask_an(an(srv, timeout=0.2)).content[0].text == "second try"
    assert srv.pending("anthropic") == 0 and len(srv.requests) == 2


def test_close_is_prompt_even_with_a_sleeping_reply() -> None:
    srv = LoopbackLLM().start()
    srv.script("openai", [Text("never", delay=30)])
    client = oa(srv, timeout=0.2, max_retries=0)
    with pytest.raises(openai.APITimeoutError):
        ask_oa(client)
    srv.close()
    srv.close()
    # the sleeping reply was woken: the serving thread ended (no duration asserted)
    assert srv._thread is not None and not srv._thread.is_alive()


def test_dialects_of_local_servers_enforce_and_shape_what_they_should() -> None:
    """What the agents' dialect tests rely on: each dialect really differs from OpenAI's rules."""
    tools = [{"type": "function", "function": {"name": "search", "description": "d", "parameters": {"type": "object"}}}]
    user = [{"role": "user", "content": "hi"}]
    call = ToolCalls([("search", {"q": "x"}), ("search", {"q": "y"})])
    with LoopbackLLM(dialect="llamacpp") as srv:
        client = openai.OpenAI(api_key="sk-test", base_url=srv.openai_base_url, max_retries=0)
        null_turn = [*user, {"role": "assistant", "content": None, "tool_calls": []}]
        with pytest.raises(openai.InternalServerError, match="ChatCompletionRequestAssistantMessage"):
            client.chat.completions.create(model="m", messages=null_turn)  # type: ignore[arg-type]
        srv.script("openai", [call, call])
        hidden = client.chat.completions.create(model="m", messages=user, tools=tools)  # type: ignore[arg-type]
        assert not hidden.choices[0].message.tool_calls  # no tool_choice: the model never saw the tools
        shown = client.chat.completions.create(model="m", messages=user, tools=tools, tool_choice="auto")  # type: ignore[arg-type]
        assert [c.id for c in shown.choices[0].message.tool_calls or []] == ["call_0", "call_1"]
    with LoopbackLLM(dialect="ollama") as srv:
        srv.script("openai", [call])
        raw = _post_json(f"{srv.openai_base_url}/chat/completions", {"model": "m", "messages": user, "tools": tools})
        calls = raw["choices"][0]["message"]["tool_calls"]
        assert all("id" not in c and c["function"]["arguments"] == {"q": q} for c, q in zip(calls, "xy", strict=True))
    with LoopbackLLM(dialect="textcalls") as srv:
        srv.script("openai", [call])
        msg = _post_json(f"{srv.openai_base_url}/chat/completions", {"model": "m", "messages": user})["choices"][0]["message"]
        assert not msg.get("tool_calls") and msg["content"].count("<tool_call>") == 2
    with pytest.raises(ValueError, match="dialect must be one of"):
        LoopbackLLM(dialect="vllm-ish")


def _post_json(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())
