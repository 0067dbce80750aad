"""Environment hygiene, parametrized over every registered id (as Minigrid does)."""

from __future__ import annotations

import json
import pickle
import warnings
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import ptenv
from ptenv.envs.registration import NONDETERMINISTIC
from ptenv.scenarios import load_dataset
from ptenv.testing.gold import current_task, oracle_actions

#: Text ids. The LLM-user id is tested against the loopback server (tests/test_llm_agents.py),
#: the numeric ids in tests/test_rl.py.
IDS = [i for i in ptenv.ENV_IDS if i not in NONDETERMINISTIC and "Numeric" not in i]
SCRIPT = [
    "not json at all",
    '{"name": "no_such_tool", "arguments": {}}',
    '[{"name": "get_profile_field", "arguments": {"field": "phone"}}]',
    '{"name": "ask_user", "arguments": {"question": "What is your phone number?"}}',
    '{"name": "search_history", "arguments": {}}',
    '{"name": "finish"}',
]


def make(env_id: str, **kw: Any) -> gym.Env[str, str]:
    return gym.make(env_id, split="test", **kw)


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes_without_warnings(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(make(env_id).unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory(env_id: str) -> None:
    def rollout(seed: int) -> list[Any]:
        env = make(env_id)
        obs, info = env.reset(seed=seed)
        env.action_space.seed(seed)
        out: list[Any] = [obs, info]
        for action in SCRIPT + env.action_space.sample().split():
            obs, r, term, trunc, info = env.step(action)
            out += [obs, r, term, trunc, info]
            if term or trunc:
                obs, info = env.reset()
                out += [obs, info]
        return out

    assert rollout(3) == rollout(3)
    assert rollout(3) != rollout(4)


@pytest.mark.parametrize("env_id", [i for i in IDS if "PTBench" not in i])
def test_truncated_at_max_steps(env_id: str) -> None:
    env = make(env_id, max_steps=3)
    env.reset(seed=0)
    flags = [env.step('{"name": "no_such_tool"}')[2:4] for _ in range(3)]
    assert flags[:2] == [(False, False), (False, False)]
    if "Session" in env_id:  # a capped request is closed and the session moves on
        assert flags[2] == (False, False)
    else:
        assert flags[2] == (False, True)


@pytest.mark.parametrize("env_id", IDS)
def test_render_ansi_and_pickle_round_trip(env_id: str) -> None:
    env = make(env_id, render_mode="ansi")
    obs, _ = env.reset(seed=1)
    assert isinstance(env.render(), str) and obs in env.render()
    inner = env.unwrapped
    clone = pickle.loads(pickle.dumps(inner))
    action = '{"name": "finish"}' if "PTBench" not in env_id else "X:[f(a=1)]"
    a = inner.step(action)
    b = clone.step(action)
    assert a[:4] == b[:4] and a[4] == b[4]


@pytest.mark.parametrize("vector", ["sync", "async"])
def test_vector_envs_run(vector: str) -> None:
    kw = {"split": "test"}
    if vector == "sync":
        venv = gym.make_vec("ptenv/PersonalTool-v0", num_envs=2, vectorization_mode="sync", **kw)
    else:
        venv = gym.make_vec("ptenv/PersonalTool-v0", num_envs=2, vectorization_mode="async", vector_kwargs={"shared_memory": False}, **kw)
    obs, _ = venv.reset(seed=0)
    assert all(json.loads(o)["type"] == "task" for o in obs)
    obs, rew, term, trunc, _ = venv.step(("bad action", '{"name": "finish"}'))
    assert json.loads(obs[0])["type"] == "error" and term[1]
    venv.close()


def test_invalid_actions_never_raise_and_are_counted() -> None:
    env = make("ptenv/PersonalTool-v0")
    env.reset(seed=0)
    bad = [
        "",
        "{",
        "[]",
        "[1, 2]",
        '{"name": 5}',
        '{"name": "x", "arguments": "{bad"}',
        "x" * 30_000,
        "P:[f(1, a=__import__('os'))]",
        "🙂",
        '{"tool_calls": []}',
    ]
    for i, action in enumerate(bad, 1):
        obs, r, term, trunc, info = env.step(action)
        payload = ptenv.parse_observation(obs)
        assert payload["type"] in ("error", "tool_results") and not term
        assert info["invalid_actions"] == i and r < 0
    obs, r, *_ = env.step(123)  # not even a string
    assert ptenv.parse_observation(obs)["type"] == "error"


def test_malformed_arguments_get_a_structured_error() -> None:
    env = make("ptenv/PersonalTool-v0", scenarios=["takeout"])
    env.reset(seed=0)
    obs, *_ = env.step('{"name": "quickbite__search_dishes", "arguments": {"keyword": "pizza", "max_price": "cheap"}}')
    res = ptenv.parse_observation(obs)["results"][0]
    assert not res["ok"] and res["error"]["code"] == "invalid_arguments"
    assert res["error"]["fields"][0]["field"] == "max_price" and "number" in res["error"]["fields"][0]["expected"]


def test_tools_at_reset_are_the_scenario_platforms_plus_builtins() -> None:
    for vis, builtins in (("profile", {"finish"}), ("hidden", {"finish", "ask_user", "get_profile_field", "search_history"})):
        env = make("ptenv/PersonalTool-v0", visibility=vis)
        obs, info = env.reset(seed=2)
        tools = {t["name"] for t in ptenv.parse_observation(obs)["tools"]}
        scenario_tools = {t for t in tools if "__" in t}
        assert len(scenario_tools) == 72 and tools - scenario_tools == builtins
        assert len(tools) <= 128
        assert all(t.split("__")[0] in {p["id"] for p in ptenv.parse_observation(obs)["platforms"]} for t in scenario_tools)


def test_visibility_modes_show_what_they_should() -> None:
    views = {}
    for vis in ("profile", "history", "hidden"):
        env = make("ptenv/PersonalTool-v0", visibility=vis)
        obs, _ = env.reset(seed=5)
        views[vis] = ptenv.parse_observation(obs)["user"]
        user = load_dataset().users[current_task(env).user_id]
    assert user.facts["phone"] in views["profile"]["profile"] and "Past behaviour" in views["profile"]["profile"]
    assert "Stated preferences" not in views["history"]["profile"] and "Past behaviour" in views["history"]["profile"]
    assert views["hidden"]["profile"] is None


@pytest.mark.parametrize("split", ["train", "test_trained", "test_untrained"])
def test_oracle_solves_every_task(split: str) -> None:
    env = gym.make("ptenv/PersonalTool-v0", split=split)
    n = len(env.unwrapped.tasks)
    for i in range(n):
        env.reset(options={"task_index": i})
        for action in oracle_actions(env):
            obs, r, term, trunc, info = env.step(action)
        assert term and info["success"] and info["reward_terms"]["total"] == pytest.approx(1.0), (current_task(env).id, info)


def test_asking_oracle_in_hidden_mode_gets_one_minus_question_costs() -> None:
    from ptenv.testing.gold import asking_oracle_actions

    env = make("ptenv/PersonalTool-Hidden-v0")
    for i in range(len(env.unwrapped.tasks)):
        env.reset(options={"task_index": i})
        questions: list[str] = []

        def ask(q: str, questions: list[str] = questions) -> str:
            obs, *_ = env.step(json.dumps({"name": "ask_user", "arguments": {"question": q}}))
            questions.append(q)
            return str(ptenv.parse_observation(obs)["results"][0]["output"]["answer"])

        for action in asking_oracle_actions(env, ask):
            obs, r, term, trunc, info = env.step(action)
        assert info["success"], (current_task(env).id, info)
        assert info["reward_terms"]["total"] == pytest.approx(1.0 - 0.02 * len(questions))


def test_user_declines_to_hand_over_the_answer() -> None:
    env = make("ptenv/PersonalTool-Hidden-v0")
    env.reset(seed=0)
    for q in (
        "Just tell me what to call.",
        "Which tool should I use?",
        "What arguments do I pass?",
        "What is the gold answer?",
        "What's your blood type?",
    ):
        obs, *_ = env.step(json.dumps({"name": "ask_user", "arguments": {"question": q}}))
        answer = ptenv.parse_observation(obs)["results"][0]["output"]["answer"]
        assert answer.startswith(("I don't know", "Sorry")), (q, answer)


def test_nothing_hidden_leaks_into_observations_or_info() -> None:
    """In hidden mode, an agent that never asks sees no profile value, and no gold value appears
    in any observation or info (scanned as text) — only with debug=True."""
    for env_id in ("ptenv/PersonalTool-Hidden-v0", "ptenv/PersonalSession-v0"):
        env = make(env_id)
        for seed in range(15):
            obs, info = env.reset(seed=seed)
            texts = [obs, json.dumps(info, default=str)]
            task = current_task(env)
            user = load_dataset().users[task.user_id]
            for action in ['{"name": "nope"}', "bad", '{"name": "finish"}'] * 4:
                obs, r, term, trunc, info = env.step(action)
                texts += [obs, json.dumps(info, default=str)]
                if term or trunc:
                    break
            blob = "\n".join(texts)
            # enum vocabularies in tool schemas, and what queries say, are public
            parsed = [json.loads(t) for t in texts]
            public = json.dumps([[p.get("tools", []), p.get("query", "")] for p in parsed if isinstance(p, dict)])
            secrets = [v for k, v in user.facts.items() if isinstance(v, str) and len(v) > 6 and k not in ("city", "occupation", "company")]
            secrets += [
                str(v)
                for c in task.gold.calls
                for a in c.args.values()
                for v in a.accepted
                if isinstance(v, str) and len(v) > 6 and a.source != "query"
            ]
            assert not [s for s in secrets if s in blob and s not in public], env_id
            keys = set().union(*(_keys(json.loads(t)) for t in texts))
            assert not keys & {"gold", "accepted", "profile_field", "source", "preferences", "weights", "rules"}, keys
    dbg = make("ptenv/PersonalTool-Hidden-v0", debug=True)
    _, info = dbg.reset(seed=0)
    assert "gold" in info


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node))
    return set()


def test_fast_observation_encoding_is_byte_identical() -> None:
    """Step observations splice pre-encoded catalogue records; the bytes must equal a plain encode."""
    from ptenv.agents.random_agent import RandomAgent
    from ptenv.core.observations import _ENCODER, dumps

    env = make("ptenv/PersonalTool-v0", max_steps=50)
    agent = RandomAgent(seed=1, calls_per_task=6)
    checked = 0
    for seed in range(40):
        obs, _ = env.reset(seed=seed)
        agent.reset(seed=seed)
        ep = env.unwrapped.episode
        for _ in range(8):
            payload, _ = ep.act(agent.act(obs))
            assert dumps(payload) == _ENCODER.encode(payload)
            obs = dumps(payload)
            checked += 1
        # and a catalogue search that surely takes the fast path
        tools = [
            t for t in ep.registry.tools_for(ep.scenario.id) if "search" in t.api_key and ep.scenario.api(t.api_key).op.type == "search"
        ]
        payload, _ = ep.act(json.dumps({"name": tools[0].name, "arguments": {}}))
        assert dumps(payload) == _ENCODER.encode(payload)
    assert checked == 320


def test_profile_views_do_not_leak_across_datasets() -> None:
    """Both built-in datasets have a user u000 with different facts; each env shows its own."""
    for dataset in ("ptenv-v1", "ptenv-v1-mini", "ptenv-v1"):
        env = gym.make("ptenv/PersonalTool-v0", dataset=dataset, split="all")
        task = next(t for t in env.unwrapped.tasks if t.user_id == "u000")
        obs, _ = env.reset(options={"task_id": task.id})
        phone = load_dataset(dataset).users["u000"].facts["phone"]
        assert f"- phone: {phone}" in ptenv.parse_observation(obs)["user"]["profile"]


def test_a_bare_api_name_resolves_when_one_platform_has_it() -> None:
    """PTBench's form without a platform, ``search_dishes(keyword='curry')``: the one platform with
    that API runs it. (It used to be refused as "on several platforms": each tool counted once per
    spelling of its name.)"""
    env = make("ptenv/PersonalTool-v0", scenarios=["takeout"])
    env.reset(seed=0)
    obs, r, *_ = env.step("search_dishes(keyword='curry')")
    res = ptenv.parse_observation(obs)["results"][0]
    assert res["ok"] and res["tool"] == "quickbite__search_dishes" and r == 0.0
    obs, r, *_ = env.step("no_such_api(keyword='curry')")
    res = ptenv.parse_observation(obs)["results"][0]
    assert res["error"]["code"] == "unknown_tool" and "no tool named 'no_such_api'" in res["error"]["message"] and r < 0


def test_builtins_validate_their_arguments_without_raising() -> None:
    """Each built-in validates against its argument model: a bad value is an invalid action with the
    built-in's message (a list as ``field`` used to raise out of ``step``); ``finish`` always ends."""
    env = make("ptenv/PersonalTool-Hidden-v0")
    env.reset(seed=0)
    cases = [
        ({"name": "get_profile_field", "arguments": {"field": ["phone"]}}, "field must be one of"),
        ({"name": "get_profile_field", "arguments": {"field": "blood_type"}}, "field must be one of"),
        ({"name": "ask_user", "arguments": {"question": "   "}}, 'ask_user needs a "question" string'),
        ({"name": "ask_user", "arguments": {"question": 42}}, 'ask_user needs a "question" string'),
        ({"name": "search_history", "arguments": {"platform": 7}}, "search_history takes"),
    ]
    for i, (action, message) in enumerate(cases, 1):
        obs, r, term, trunc, info = env.step(json.dumps(action))
        res = ptenv.parse_observation(obs)["results"][0]
        assert res["error"]["code"] == "invalid_arguments" and message in res["error"]["message"] and r == pytest.approx(-0.05)
        assert not term and info["invalid_actions"] == i
    obs, r, term, trunc, info = env.step(json.dumps({"name": "get_profile_field", "arguments": {"field": "phone", "extra": 1}}))
    assert ptenv.parse_observation(obs)["results"][0]["ok"] and info["lookups"] == 1 and info["invalid_actions"] == len(cases)
    obs, r, term, *_ = env.step(json.dumps({"name": "finish", "arguments": {"message": 5}}))
    assert term


def test_builtin_schemas_come_from_their_argument_models() -> None:
    from ptenv.core.builtins import SPECS, Builtins
    from ptenv.tools_registry import PROFILE_FIELDS, SCENARIOS

    defs = {d["name"]: d for d in Builtins.definitions("hidden", SCENARIOS)}
    assert list(defs) == ["finish", "ask_user", "get_profile_field", "search_history"]
    assert list(SPECS) == [*defs, "choose_platform", "decline"]  # the platform_first view's; ptenv-v2's
    assert [d["name"] for d in Builtins.definitions("hidden", SCENARIOS, "platform_first")] == list(SPECS)[:-1]
    assert [d["name"] for d in Builtins.definitions("profile", SCENARIOS, ask=True)] == ["finish", "ask_user", "decline"]
    assert Builtins.definitions("profile", SCENARIOS, ask=True)[-1]["parameters"]["required"] == ["reason"]
    assert defs["get_profile_field"]["parameters"]["properties"]["field"]["enum"] == list(PROFILE_FIELDS)
    assert defs["search_history"]["parameters"]["properties"]["scenario"]["enum"] == list(SCENARIOS)
    assert defs["ask_user"]["parameters"]["required"] == ["question"] and "0.02" in defs["ask_user"]["description"]
    assert [d["name"] for d in Builtins.definitions("profile", SCENARIOS)] == ["finish"]


@pytest.mark.parametrize("env_id", IDS)
def test_parsing_without_the_tool_list_gives_the_rest_unchanged(env_id: str) -> None:
    for seed, vis in enumerate(("profile", "history") if "PTBench" in env_id else ("profile", "history", "facts", "hidden")):
        env = make(env_id, visibility=vis)
        obs, _ = env.reset(seed=seed)
        for text in (obs, env.step('{"name": "no_such_tool"}')[0] if "PTBench" not in env_id else obs):
            full = ptenv.parse_observation(text)
            lean = ptenv.parse_observation(text, with_tools=False)
            # an opening leaves its tool list out, everything else (PTBench's tools text too) stays
            assert lean == ({k: v for k, v in full.items() if k != "tools"} if full["type"] == "task" else full)


def test_parsing_without_tools_is_not_fooled_by_a_nested_tools_key() -> None:
    text = json.dumps({"type": "task", "user": {"note": ',"tools":[', "tools": [1]}, "tools": [{"name": "x"}]}, separators=(",", ":"))
    assert ptenv.parse_observation(text, with_tools=False) == {"type": "task", "user": {"note": ',"tools":[', "tools": [1]}}
    with pytest.raises(ValueError, match="not a ptenv observation"):
        ptenv.parse_observation('{"type":"task","tools":[', with_tools=False)


def test_ptbench_observations_splice_their_tool_list_byte_for_byte(tmp_path: Any) -> None:
    from ptenv.core.observations import _ENCODER, EncodedText

    env = make("ptenv/PTBench-v0")
    spliced = 0
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        payload = env.unwrapped.last_payload  # type: ignore[attr-defined]
        assert obs == _ENCODER.encode(payload)
        spliced += type(payload["tools"]) is EncodedText
    assert spliced == 30


@pytest.mark.parametrize("env_id", ["ptenv/PersonalTool-v0", "ptenv/PersonalSession-v0", "ptenv/PTBench-v0"])
def test_without_text_observations_the_payload_is_the_same_and_renders_on_demand(env_id: str) -> None:
    """The numeric ids switch text observations off; the data, and the text when rendered, must
    be what the text id gives."""
    plain, lean = make(env_id), make(env_id, render_mode="ansi")
    lean.unwrapped.text_observations = False  # type: ignore[attr-defined]
    for seed in range(3):
        a, _ = plain.reset(seed=seed)
        b, _ = lean.reset(seed=seed)
        assert b == "" and lean.render() == a + "\n"
        for action in SCRIPT:
            a, ra, ta, _, _ = plain.step(action)
            b, rb, tb, _, _ = lean.step(action)
            assert b == "" and ra == rb and ta == tb
            assert lean.unwrapped.last_payload == plain.unwrapped.last_payload  # type: ignore[attr-defined]
            assert lean.render() == a + "\n"
            if ta:
                break


def test_the_platform_first_view_offers_the_platforms_then_the_chosen_ones_tools() -> None:
    env = gym.make("ptenv/PersonalTool-v0", split="test", dataset="ptenv-v1-mini", tool_view="platform_first")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    opening = json.loads(obs)
    assert [t["name"] for t in opening["tools"]] == ["finish", "choose_platform"] and opening["tool_view"] == "platform_first"
    full, _ = gym.make("ptenv/PersonalTool-v0", split="test", dataset="ptenv-v1-mini").reset(seed=3)
    assert len(obs) * 5 < len(full)  # the opening observation: no platform's schemas
    scenario = ptenv.tools_registry.Registry.default().scenarios[opening["scenario"]]
    first, other = scenario.platforms[0], scenario.platforms[1]
    names = [t["name"] for t in json.loads(full)["tools"]]
    tool = next(n for n in names if n.startswith(first.id + "__"))
    other_tool = next(n for n in names if n.startswith(other.id + "__"))

    def step(name: str, **arguments: Any) -> tuple[dict[str, Any], float, dict[str, Any]]:
        o, r, _, _, i = env.step(json.dumps({"name": name, "arguments": arguments}))
        return json.loads(o)["results"][0], float(r), i

    res, reward, info = step(tool)  # a platform's tool before choosing: a bad action
    assert res["error"]["code"] == "choose_platform_first" and reward == -0.05 and info["invalid_actions"] == 1
    res, reward, _ = step("choose_platform", platform="no such app")
    assert res["error"]["code"] == "unknown_platform" and reward == 0.0
    res, reward, _ = step("choose_platform", platform=first.name.upper())  # by name, any case; free
    assert res["ok"] and reward == 0.0 and res["output"]["platform"] == first.id
    assert {t["name"].split("__")[0] for t in res["output"]["tools"]} == {first.id} and len(res["output"]["tools"]) == 24
    res, _, info = step(other_tool)  # another platform's tool: refused
    assert res["error"]["code"] == "not_chosen" and info["invalid_actions"] == 2
    assert step(tool)[0]["error"]["code"] != "choose_platform_first"  # the chosen one's tools run
    with pytest.raises(ValueError, match="tool_view"):
        gym.make("ptenv/PersonalTool-v0", tool_view="short")
    with pytest.raises(ValueError, match="tool_view must be 'full'"):
        gym.make("ptenv/PersonalTool-Numeric-v0", tool_view="platform_first")


def test_the_heuristic_solves_the_platform_first_view_as_it_solves_the_full_one() -> None:
    from ptenv.evaluation import evaluate

    kw: dict[str, Any] = {"env_kwargs": {"dataset": "ptenv-v1-mini", "tool_view": "platform_first", "visibility": "hidden"}}
    s = evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False, **kw)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0


def test_the_compact_view_offers_the_same_tools_in_fewer_words() -> None:
    from ptenv.evaluation import evaluate

    full, compact = (gym.make("ptenv/PersonalTool-v0", split="test", tool_view=v) for v in ("full", "compact"))
    for seed in range(5):
        a, b = (json.loads(e.reset(seed=seed)[0]) for e in (full, compact))
        assert a["query"] == b["query"] and len(json.dumps(b)) < 0.8 * len(json.dumps(a))
        assert [t["name"] for t in a["tools"]] == [t["name"] for t in b["tools"]]
        for ta, tb in zip(a["tools"], b["tools"], strict=True):
            if "__" not in ta["name"]:  # the built-ins keep their whole descriptions
                assert ta == tb
                continue
            pa, pb = ta["parameters"], tb["parameters"]
            assert pb.get("required") == pa.get("required")  # names, types, enums, bounds: all kept
            assert {k: {x: y for x, y in v.items() if x != "description"} for k, v in pa["properties"].items()} == pb["properties"]
            assert ta["description"].startswith("[") and not tb["description"].startswith("[")
            assert tb["description"] and len(tb["description"]) < len(ta["description"])
    kw: dict[str, Any] = {"env_kwargs": {"dataset": "ptenv-v1-mini", "tool_view": "compact"}}
    s = evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False, **kw)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0
