"""LLM agents, the LLM-backed user and LLM-assisted synthesis, offline: the REAL openai and
anthropic SDKs talk HTTP to a loopback server of ours (ptenv.testing.loopback). No SDK object is mocked.

The server's "model" in most tests is an oracle model: it finds the task by the request's query
and clock, and answers with the gold calls one turn at a time. Through the whole real stack
(agent -> SDK -> HTTP -> server -> SDK -> agent -> env) a correct model must then score 1.0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptenv.evaluation import evaluate
from ptenv.scenarios import Task, load_dataset
from ptenv.testing.dialects import DIALECTS
from ptenv.testing.loopback import Error, LoopbackLLM, Text, Timeout, ToolCalls

MINI = "ptenv-v1-mini"


def _index() -> dict[tuple[str, str], Task]:
    return {(t.query, t.now): t for t in load_dataset(MINI).tasks}


TASKS = _index()


def _find(system: str, query: str) -> Task:
    now = next(line.split(": ", 1)[1] for line in system.splitlines() if line.startswith("Current time: "))
    return TASKS[(query, now)]


def oracle_model(provider: str, body: dict[str, Any]) -> Any:
    """Answer with the gold: the i-th assistant turn makes the i-th gold call, then says done."""
    if provider == "openai":
        msgs = body["messages"]
        system, query = msgs[0]["content"], msgs[1]["content"]
        turns = sum(m["role"] == "assistant" for m in msgs)
    else:
        msgs = body["messages"]
        system, query = body["system"], msgs[0]["content"]
        turns = sum(m["role"] == "assistant" for m in msgs)
    if "tools" not in body:  # the PTBench text protocol: answer in its text form
        task = _find(system, query)
        calls = ", ".join(f"{c.api}(" + ", ".join(f"{k}={v.accepted[0]!r}" for k, v in c.args.items()) + ")" for c in task.gold.calls)
        return Text(f"{_named(task)}:[{calls}]")
    task = _find(system, query)
    if turns < len(task.gold.calls):
        call = task.gold.calls[turns]
        return ToolCalls([(call.tool, call.canonical_args())])
    return Text("All done.")


@pytest.fixture()
def srv() -> Iterator[LoopbackLLM]:
    with LoopbackLLM() as server:
        server.handler = oracle_model
        yield server


def _llm(agent: str, srv: LoopbackLLM, cache: Path, **more: Any) -> dict[str, Any]:
    base = srv.openai_base_url if agent != "anthropic" else srv.anthropic_base_url
    return {"base_url": base, "model": "loopback-model", "cache_dir": str(cache), "max_retries": 3, "timeout": 5.0, **more}


def _run(agent: str, srv: LoopbackLLM, tmp_path: Path, visibility: str = "profile", episodes: int = 12, **kw: Any) -> dict[str, Any]:
    return evaluate(
        "ptenv/PersonalTool-v0",
        agent,
        "test_untrained",
        kw.pop("out", None),
        episodes=episodes,
        env_kwargs={"dataset": MINI, "visibility": visibility},
        agent_kwargs=_llm(agent, srv, tmp_path / "cache", **kw.pop("agent_kwargs", {})),
        progress=False,
        **kw,
    )


@pytest.mark.parametrize("agent", ["openai", "anthropic"])
@pytest.mark.parametrize("visibility", ["profile", "history", "hidden"])
def test_native_tool_calling_agents_complete_evaluations(agent: str, visibility: str, srv: LoopbackLLM, tmp_path: Path) -> None:
    s = _run(agent, srv, tmp_path, visibility)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0, s
    assert s["usage"]["requests"] > 12 and s["usage"]["input_tokens"] > 0
    u = s["usage"]  # the largest prompt of a request: at least the mean, at most the total
    assert u["input_tokens"] / u["requests"] <= u["max_input_tokens"] < u["input_tokens"]
    _assert_conversations_valid(agent, srv)


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "openai"])
@pytest.mark.parametrize("visibility", ["profile", "hidden"])
def test_the_openai_agent_completes_conversations_with_local_servers(dialect: str, visibility: str, tmp_path: Path) -> None:
    """llama.cpp's rules (content a string, never null nor missing; tools shown only with
    tool_choice; ids reused), Ollama's shapes (no ids, arguments as objects), calls written in the text."""
    with LoopbackLLM(dialect=dialect, handler=oracle_model) as server:
        s = _run("openai", server, tmp_path, visibility)
        assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0, s
        assert all(body.get("tool_choice") == "auto" for _, _, _, body in server.requests if "tools" in body)
        _assert_conversations_valid("openai", server)


def _assert_conversations_valid(agent: str, srv: LoopbackLLM) -> None:
    for provider, _path, _headers, body in srv.requests:
        msgs = body["messages"]
        if agent == "openai":
            assert provider == "openai" and msgs[0]["role"] == "system"
            open_ids: list[str] = []
            used: set[str] = set()
            for m in msgs:
                if m["role"] == "assistant":
                    assert not open_ids, "a tool call was not answered before the next turn"
                    assert isinstance(m.get("content"), str), "content must be a string (llama-cpp-python refuses null and missing)"
                    open_ids = [c["id"] for c in m.get("tool_calls") or []]
                    assert all(isinstance(i, str) and i for i in open_ids) and not used & set(open_ids), "ids must be unique"
                    used |= set(open_ids)
                elif m["role"] == "tool":
                    open_ids.remove(m["tool_call_id"])
            assert not open_ids, "a request was sent with unanswered tool calls"
        else:
            assert provider == "anthropic" and body["max_tokens"] > 0
            roles = [m["role"] for m in msgs]
            assert roles[0] == "user" and all(a != b for a, b in zip(roles, roles[1:], strict=False)), roles
            for prev, nxt in zip(msgs, msgs[1:], strict=False):
                if prev["role"] == "assistant":
                    uses = {b["id"] for b in prev["content"] if b["type"] == "tool_use"}
                    results = {b["tool_use_id"] for b in nxt["content"] if isinstance(nxt["content"], list) and b["type"] == "tool_result"}
                    assert uses == results


def test_ptbench_text_agent_on_the_one_shot_protocol(srv: LoopbackLLM, tmp_path: Path) -> None:
    s = evaluate(
        "ptenv/PTBench-v0", "ptbench-text", "test_untrained", None, episodes=15, env_kwargs={"dataset": MINI},
        agent_kwargs=_llm("ptbench-text", srv, tmp_path / "c"), progress=False,
    )  # fmt: skip
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0, (s["errored"], srv.errors[:3])
    assert all("tools" not in body for _, _, _, body in srv.requests)


@pytest.mark.parametrize("visibility", ["profile", "history", "hidden"])
def test_ptbench_text_agent_in_the_multi_step_env(visibility: str, srv: LoopbackLLM, tmp_path: Path) -> None:
    """One answer text per task, executed by the env; then finish."""
    s = _run("ptbench-text", srv, tmp_path, visibility)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0
    assert s["usage"]["requests"] == 12  # one request per task


def test_malformed_arguments_go_back_to_the_model(srv: LoopbackLLM, tmp_path: Path) -> None:
    srv.script("openai", [ToolCalls([("quickbite__search_dishes", '{"keyword": ')]), Text("I give up.")])
    s = _run("openai", srv, tmp_path, episodes=1)
    assert s["errored"] == 0  # no crash: an error observation, then the model's plain reply = finish
    second = srv.requests[1][3]["messages"]
    tool_msgs = [m for m in second if m["role"] == "tool"]
    assert tool_msgs and "not a valid JSON object" in tool_msgs[0]["content"]


@pytest.mark.parametrize("agent", ["openai", "anthropic"])
def test_injected_faults_are_survived(agent: str, srv: LoopbackLLM, tmp_path: Path) -> None:
    provider = "anthropic" if agent == "anthropic" else "openai"
    srv.script(provider, [Error(429), Error(500), Timeout(2.0)])
    s = _run(agent, srv, tmp_path, episodes=4, agent_kwargs={"timeout": 0.5})
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0


def test_a_request_that_keeps_failing_is_errored_then_retried_on_resume(srv: LoopbackLLM, tmp_path: Path) -> None:
    out = tmp_path / "run"
    srv.script("openai", [Error(500)] * 3)  # max_retries=2: three failures exhaust the first episode
    s = _run("openai", srv, tmp_path, episodes=3, out=out, agent_kwargs={"max_retries": 2})
    assert s["errored"] == 1 and s["episodes"] == 3 and s["error_types"] == {"InternalServerError (agent)": 1}  # recorded and shown
    assert s["metrics"]["overall"] == pytest.approx(2 / 3)  # its request counts as a failure
    assert sum(json.loads(x)["error"] is not None for x in (out / "results.jsonl").read_text().splitlines()) == 1
    again = _run("openai", srv, tmp_path, episodes=3, out=out, agent_kwargs={"max_retries": 2})
    assert again["errored"] == 0 and again["metrics"]["overall"] == 1.0


def test_reruns_hit_the_cache_and_are_identical(srv: LoopbackLLM, tmp_path: Path) -> None:
    first = _run("anthropic", srv, tmp_path, episodes=6)
    n = len(srv.requests)
    second = _run("anthropic", srv, tmp_path, episodes=6)
    assert len(srv.requests) == n  # nothing sent: every response came from the cache
    assert second["usage"]["cache_hits"] == second["usage"]["requests"] == first["usage"]["requests"]
    first.pop("usage")
    second.pop("usage")
    assert first == second


def test_concurrency_is_bounded_and_used(srv: LoopbackLLM, tmp_path: Path) -> None:
    srv.latency = 0.03
    s = _run("openai", srv, tmp_path, episodes=24, concurrency=6)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0
    assert 4 <= srv.in_flight_peak <= 6


def test_keys_never_reach_any_output_file(srv: LoopbackLLM, tmp_path: Path) -> None:
    key = "sk-test-SECRET-4242-never-write-me"
    out, cache = tmp_path / "run", tmp_path / "cache"
    env = {**os.environ, "OPENAI_API_KEY": key, "ANTHROPIC_API_KEY": key}
    for agent in ("openai", "anthropic"):
        base = srv.openai_base_url if agent == "openai" else srv.anthropic_base_url
        res = subprocess.run(
            [sys.executable, "-m", "ptenv", "eval", "--agent", agent, "--dataset", MINI, "--split", "test_untrained", "--episodes", "3",
             "--base-url", base, "--model", "m", "--cache-dir", str(cache), "--out", str(out / agent)],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert key not in res.stdout and key not in res.stderr
    seen = [h.get("authorization", "") + h.get("x-api-key", "") for _, _, h, _ in srv.requests]
    assert all(key in s for s in seen)  # it was used, as a header only
    assert all(key not in json.dumps(body) for _, _, _, body in srv.requests)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 6
    assert not [p for p in files if key.encode() in p.read_bytes()]


def test_llm_user_answers_through_the_seam_and_its_failure_does_not_crash(srv: LoopbackLLM, tmp_path: Path, monkeypatch: Any) -> None:
    import gymnasium as gym

    import ptenv  # noqa: F401

    srv.handler = lambda provider, body: Text("My phone number is 555-0100-0000.")
    monkeypatch.setenv("PTENV_USER_BASE_URL", srv.openai_base_url)
    monkeypatch.chdir(tmp_path)
    env = gym.make("ptenv/PersonalTool-LLMUser-v0", dataset=MINI, split="test")
    assert env.spec is not None and env.spec.nondeterministic
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("ptenv/PersonalTool-LLMUser-v0", dataset=MINI, split="test").unwrapped)
    env.reset(seed=0)
    obs, *_ = env.step('{"name": "ask_user", "arguments": {"question": "What is your phone number?"}}')
    assert "555-0100-0000" in obs
    system = srv.requests[-1][3]["messages"][0]["content"]
    assert "don't know how the apps work" in system  # it is told to decline the gold itself
    srv.close()  # the user's server goes away: an error observation, not an exception
    obs, r, term, trunc, info = env.step('{"name": "ask_user", "arguments": {"question": "And your email?"}}')
    assert "user_unavailable" in obs and not term


def test_synthesis_accepts_only_what_validates(srv: LoopbackLLM, tmp_path: Path) -> None:
    from ptenv.llm import synthesis as syn
    from ptenv.llm.client import LLMConfig
    from ptenv.tools_registry import Registry

    config = LLMConfig(model="m", base_url=srv.openai_base_url, cache_dir=str(tmp_path / "c"))
    ds = load_dataset(MINI)
    tasks = [t for t in ds.split("test") if syn.query_values(t)][:4]
    good, bad = tasks[0], tasks[1]
    vals = syn.query_values(good)

    def paraphrases(provider: str, body: dict[str, Any]) -> Any:
        user = body["messages"][1]["content"]
        if good.query in user:
            return Text("Could you " + " and ".join(vals) + " sort this for me" + (f" on {_named(good)}" if good.platform_named else ""))
        return Text("Something completely different.")

    srv.handler = paraphrases
    out = syn.paraphrase(ds, tasks[:2], "openai", config)
    assert [t.id for t in out.accepted] == [f"{good.id}-p"] and out.rejected[0]["id"] == bad.id

    facts = dict(ds.users[good.user_id].facts, full_name="Zed Quill")
    replies = iter([Text(json.dumps(facts)), Text('{"full_name": "only a name"}'), Text("no json here")])
    srv.handler = lambda provider, body: next(replies)
    users = syn.propose_users(3, "openai", config)
    assert len(users.accepted) == 1 and len(users.accepted[0]["tasks"]) == 90
    assert [r["reason"] for r in users.rejected][0].startswith("missing fields")

    existing = Registry.default().scenarios["takeout"].api("list_coupons").model_dump(mode="json")
    proposal = {
        "api": {**existing, "key": "list_deals", "names": {p: f"{p}_deals" for p in ("quickbite", "pennyplate", "luxedine")}},
        "sample_call": {},
    }
    broken = {"api": {**existing, "key": "broken", "op": {"type": "search", "entity": "no_such_entity"}}, "sample_call": {}}
    replies2 = iter([Text(json.dumps(proposal)), Text(json.dumps(broken))])
    srv.handler = lambda provider, body: next(replies2)
    apis = syn.propose_apis("takeout", 2, "openai", config)
    assert [a.key for a in apis.accepted] == ["list_deals"] and "unknown entity" in apis.rejected[0]["reason"]


def _named(task: Task) -> str:
    from ptenv.tools_registry import Registry

    return Registry.default().scenarios[task.scenario].platform(task.gold.platform).name


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_sdk_clients_share_one_tls_context_and_keep_the_sdk_defaults(provider: str, srv: LoopbackLLM) -> None:
    from ptenv.llm.client import _tls_context, sdk_client

    url = srv.openai_base_url if provider == "openai" else srv.anthropic_base_url
    sync = sdk_client(provider, api_key="not-needed", base_url=url, timeout=7.0, max_retries=1)
    asynchronous = sdk_client(provider, asynchronous=True, api_key="not-needed", base_url=url, timeout=7.0, max_retries=1)
    assert type(sync).__name__ in ("OpenAI", "Anthropic") and type(asynchronous).__name__.startswith("Async")
    assert sync.timeout == asynchronous.timeout == 7.0 and sync.max_retries == 1
    # one context per HTTP library (both SDKs use the same one today), not one per client
    assert 1 <= _tls_context.cache_info().currsize <= 2 and _tls_context.cache_info().hits >= 1
    with sync:
        sync.models.list()  # it really talks to the server
    with pytest.raises(ValueError, match="provider must be"):
        sdk_client("mistral")


def platform_first_model(provider: str, body: dict[str, Any]) -> Any:
    """The oracle, in the platform_first view: first choose the gold platform, then its calls."""
    msgs = body["messages"]
    system, query = (msgs[0]["content"], msgs[1]["content"]) if provider == "openai" else (body["system"], msgs[0]["content"])
    task = _find(system, query)
    if not any("__" in t.get("function", t)["name"] for t in body.get("tools", [])):  # no platform's tools yet
        return ToolCalls([("choose_platform", {"platform": _named(task)})])
    turns = sum(m["role"] == "assistant" for m in msgs) - 1  # the choosing turn is not a gold call
    if turns < len(task.gold.calls):
        call = task.gold.calls[turns]
        return ToolCalls([(call.tool, call.canonical_args())])
    return Text("All done.")


@pytest.mark.parametrize("agent", ["openai", "anthropic"])
def test_llm_agents_work_in_the_platform_first_view_with_prompts_half_the_size(agent: str, tmp_path: Path) -> None:
    with LoopbackLLM(handler=platform_first_model) as server:
        view = {"env_kwargs": {"dataset": MINI, "visibility": "profile", "tool_view": "platform_first"}}
        s = evaluate(
            "ptenv/PersonalTool-v0",
            agent,
            "test_untrained",
            None,
            episodes=12,
            agent_kwargs=_llm(agent, server, tmp_path),
            progress=False,
            **view,
        )
        assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0, s
        _assert_conversations_valid(agent, server)
        first = [body for _, _, _, body in server.requests if len(body["messages"]) <= (2 if agent == "openai" else 1)]
        assert first and all([t.get("function", t)["name"] for t in b["tools"]] == ["finish", "choose_platform"] for b in first)
    with LoopbackLLM(handler=oracle_model) as server:
        full = _run(agent, server, tmp_path / "full")
    assert full["usage"]["max_input_tokens"] > 2 * s["usage"]["max_input_tokens"], (full["usage"], s["usage"])  # measured 2.3x


def test_a_request_that_cannot_fit_the_declared_context_fails_at_once_with_its_size(tmp_path: Path) -> None:
    with LoopbackLLM(handler=oracle_model) as server:
        s = _run("openai", server, tmp_path, episodes=3, agent_kwargs={"context_tokens": 8192, "cache_dir": None})
        assert s["errored"] == 3 and not server.requests  # refused before sending: nothing retried
        assert "more than --context-tokens 8,192" in s["first_error"] and "tool-view platform_first" in s["first_error"]
    with LoopbackLLM(handler=platform_first_model) as server:  # the platform_first view fits 8k
        kw = {"env_kwargs": {"dataset": MINI, "tool_view": "platform_first"}, "progress": False}
        agent_kwargs = _llm("openai", server, tmp_path / "pf", context_tokens=8192)
        s = evaluate("ptenv/PersonalTool-v0", "openai", "test_untrained", None, episodes=6, agent_kwargs=agent_kwargs, **kw)
        assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0


def test_the_llamacpp_dialect_refuses_what_the_real_server_refuses() -> None:
    """Measured on llama-cpp-python 0.3.36 (chatml-function-calling): an echoed assistant turn with
    calls answers 500 without ``content`` and with ``null``, 200 with ``""``."""
    from ptenv.testing.dialects import check_request

    call = {"id": "c1", "type": "function", "function": {"name": "finish", "arguments": "{}"}}
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "{}"},
        ]
    }
    assert check_request("llamacpp", "openai", body) is not None
    body["messages"][1]["content"] = None
    assert check_request("llamacpp", "openai", body) is not None
    body["messages"][1]["content"] = ""
    assert check_request("llamacpp", "openai", body) is None
    assert check_request("openai", "openai", {"messages": [{"role": "assistant", "tool_calls": [call]}]}) is None
