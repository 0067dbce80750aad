"""Property-based checks of the promise: a malformed action never crashes an env.

For every text id, ``step`` of any generated action (random text, JSON-shaped text, tool calls of
every accepted shape with odd names and arguments, PTBench's ``Platform:[f(a=...)]`` form) returns
a strict-JSON observation with a ``type`` and a finite float reward, and never raises; an action
the parser refuses is answered as a bad action. The numeric ids refuse, with a ``ValueError``
naming their space, anything that is not an integer index (and accept numpy integers).

Deterministic (``derandomize=True``, no example database) and quick: each env is made once per
module. ``benchmarks/fuzz_actions.py`` runs the same kind of search at a much larger size.
"""

from __future__ import annotations

import json
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ptenv
from ptenv.core.actions import ActionError, parse_action
from ptenv.envs.registration import NONDETERMINISTIC
from ptenv.tools_registry import Registry

TEXT_IDS = [i for i in ptenv.ENV_IDS if i not in NONDETERMINISTIC and "Numeric" not in i]
NUMERIC_IDS = [i for i in ptenv.ENV_IDS if "Numeric" in i]
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

_ENVS: dict[str, gym.Env[Any, Any]] = {}


def env_for(env_id: str) -> gym.Env[Any, Any]:
    """One env per id for the whole module (making one costs far more than a step)."""
    if env_id not in _ENVS:
        env = gym.make(env_id, split="test", disable_env_checker=True)
        env.reset(seed=0)
        _ENVS[env_id] = env
    return _ENVS[env_id]


def _refuse(name: str) -> Any:
    raise AssertionError(f"observation is not strict JSON: it holds {name}")


def strict_observation(obs: Any) -> dict[str, Any]:
    """The observation as a dict, asserting it is strict JSON, valid UTF-8 and has a type."""
    assert isinstance(obs, str)
    obs.encode("utf-8")  # raises on a lone surrogate
    data = json.loads(obs, parse_constant=_refuse)
    assert isinstance(data, dict) and isinstance(data.get("type"), str), obs[:200]
    return data


# -- strategies ----------------------------------------------------------------------------
_REG = Registry.default()
_TOOLS = [t for sc in _REG.scenarios for t in _REG.tools_for(sc)]
TOOL_NAMES = sorted({t.name for t in _TOOLS} | {"finish", "ask_user", "get_profile_field", "search_history"})
API_NAMES = sorted({t.api for t in _TOOLS})
PARAM_NAMES = sorted({t.arg_name(p) for t in _TOOLS for p in t.params} | {"field", "question", "message"})
PLATFORMS = sorted({t.platform_name for t in _TOOLS})

# every code point, lone surrogates included (hypothesis leaves them out by default)
any_char = st.characters(codec=None, exclude_categories=())
odd_char = st.sampled_from(list("{}[]()\":,\\='`*-.eE09 \t\n\x00\x1b\u200b\u2028\ufeff\U0001f642\u0130\ud800\udfff"))
some_text = st.text(st.one_of(any_char, odd_char), max_size=60)
names = st.one_of(st.sampled_from(TOOL_NAMES), st.sampled_from(API_NAMES), some_text)

odd_number = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-400", "-0.0", "1.7976931348623157e308"]),
    st.integers(300, 6000).map(lambda n: "9" * n),  # past a double, past Python's 4300 digits
)
odd_string = st.one_of(some_text.map(json.dumps), st.sampled_from(['"\\ud800"', '"a\\udfff"', '"\\ud83d\\ude42"']))  # \udXXX escapes
json_scalar = st.one_of(
    odd_number,
    odd_number,  # listed twice: one_of picks its branches evenly, and these are what break parsers
    odd_string,
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(["true", "false", "null"]),
    some_text.map(lambda s: json.dumps(s, ensure_ascii=False)),
)
json_text = st.recursive(
    json_scalar,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), some_text).map(json.dumps), kids), max_size=4).map(
            lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=10,
)
deep_json = st.tuples(st.integers(1, 1500), st.booleans()).map(
    lambda t: "[" * t[0] + "]" * t[0] if t[1] else '{"a":' * t[0] + "1" + "}" * t[0]
)
arguments = st.one_of(
    st.lists(st.tuples(st.sampled_from(PARAM_NAMES).map(json.dumps), st.one_of(json_text, deep_json)), max_size=4).map(
        lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}"
    ),
    json_text,
    deep_json,
)
# the OpenAI shape: arguments as a JSON string, here nested up to 4 strings deep
string_arguments = st.tuples(st.one_of(arguments, deep_json), st.integers(1, 4)).map(lambda t: _wrap(t[0], t[1]))


def _wrap(text: str, times: int) -> str:
    for _ in range(times):
        text = json.dumps(text)
    return text


tool_call = st.builds(
    lambda shape, name, args, sargs: [
        f'{{"name":{name},"arguments":{args}}}',
        f'{{"tool":{name},"args":{args}}}',
        f'{{"type":"function","function":{{"name":{name},"arguments":{sargs}}}}}',
        f'{{"type":"tool_use","id":"t1","name":{name},"input":{args}}}',
        f'{{"tool_calls":[{{"function":{{"name":{name},"arguments":{sargs}}}}}]}}',
        f'{{"tool_calls":{args}}}',
        f'[{{"name":{name},"parameters":{sargs}}}]',
        f'{{"name":{name},"function":{args}}}',
    ][shape],
    st.integers(0, 7),
    names.map(json.dumps),
    arguments,
    string_arguments,
)

py_value = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(
        [
            "1e999",
            "-1e999",
            "1e999j",
            "0x" + "f" * 300,
            "9" * 400,
            "9" * 5000,
            "...",
            'b"\\xff"',
            "{1, 2}",
            "{(1, 2): 3}",
            "None",
            "True",
            "__import__('os').system('true')",
            "(lambda: 1)()",
            "[x for x in y]",
            "'\\ud800'",
            "-" * 3000 + "1",
            "(" * 250 + "1" + ")" * 250,
            "[" * 150 + "]" * 150,
        ]
    ),
    st.integers(1, 600).map(lambda n: "*".join(["1e12"] * n)),
    st.tuples(st.integers(1, 30), st.sampled_from(["/1", "/1e-300", "/0", "*1e300", ""])).map(
        lambda t: "*".join(["1000000000000"] * t[0]) + t[1]
    ),
    some_text.map(repr),
)
ptbench_call = st.builds(
    lambda func, kws, pos: f"{func}({', '.join([*pos, *(f'{k}={v}' for k, v in kws)])})",
    st.one_of(st.sampled_from(API_NAMES), st.integers(1, 5000).map(lambda n: ".".join(["a"] * n)), some_text),
    st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), some_text), py_value), max_size=3),
    st.lists(py_value, max_size=1),
)
ptbench = st.builds(
    lambda platform, calls, bare: ("" if bare else platform + ":") + "[" + ", ".join(calls) + "]",
    st.one_of(st.sampled_from(PLATFORMS), some_text),
    st.lists(ptbench_call, max_size=3),
    st.booleans(),
)


def _valid_value(p: Any) -> st.SearchStrategy[Any]:
    """Values a tool parameter accepts, so that a call gets past validation into the backend."""
    if p.enum:
        return st.sampled_from(p.enum)
    if p.type == "integer":
        return st.integers(int(p.minimum if p.minimum is not None else -5), int(p.maximum if p.maximum is not None else 50))
    if p.type == "number":
        return st.floats(p.minimum if p.minimum is not None else -1e6, p.maximum if p.maximum is not None else 1e6)
    if p.type == "boolean":
        return st.booleans()
    if p.type == "array":
        return st.lists(st.sampled_from(["x", "curry"]), max_size=2)
    return st.just({"date": "2026-04-01", "time": "10:00"}[p.context]) if p.context else st.sampled_from(["Paris", "a@b.c", "curry"])


def _valid_call(tool: Any) -> st.SearchStrategy[str]:
    """A real tool with acceptable arguments, one of them now and then an odd JSON value."""
    values = [
        st.tuples(st.just(tool.arg_name(p)), st.one_of(_valid_value(p).map(json.dumps), _valid_value(p).map(json.dumps), json_scalar))
        for p in tool.params
    ]
    return st.tuples(*values).map(
        lambda kv: '{"name":' + json.dumps(tool.name) + ',"arguments":{' + ",".join(f"{json.dumps(k)}:{v}" for k, v in kv) + "}}"
    )


valid_call = st.sampled_from(_TOOLS).flatmap(_valid_call)
# a call whose one argument is one of the values that broke parsers or observations
odd_call = st.builds(
    lambda name, key, value: f'{{"name":{name},"arguments":{{{key}:{value}}}}}',
    names.map(json.dumps),
    st.sampled_from(PARAM_NAMES).map(json.dumps),
    st.one_of(odd_number, odd_string, deep_json, string_arguments),
)
broken = st.tuples(st.one_of(tool_call, ptbench), st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])])
fenced = tool_call.map(lambda s: f"```json\n{s}\n```")
huge = st.sampled_from(
    [
        "```" + "a" * 19_990,
        "a" + " " * 19_990 + ":",
        "A" + " \t" * 9_990 + ":x",
        '{"name":"finish","arguments":{"message":"' + "x" * 19_900 + '"}}',
        "x" * 20_001,
    ]
)
# one_of picks evenly among its branches: the shapes that reach deepest are listed more than once
actions = st.one_of(
    some_text, json_text, deep_json, tool_call, tool_call, valid_call, valid_call, odd_call, ptbench, ptbench, broken, fenced, huge
)


# -- the promise, for every text id ------------------------------------------------------------
def checked_step(env: gym.Env[Any, Any], action: Any) -> tuple[dict[str, Any], float, bool, bool]:
    """One step that must not raise, must give a strict-JSON observation and a finite float reward."""
    obs, reward, terminated, truncated, _ = env.step(action)
    payload = strict_observation(obs)
    assert isinstance(reward, float) and math.isfinite(reward)
    return payload, reward, terminated, truncated


def check_first_step(env_id: str, action: Any) -> None:
    """The first step of an episode (so that each example stands alone): an action the parser
    refuses is answered as a bad action."""
    env = env_for(env_id)
    env.reset(seed=0)
    payload, reward, terminated, _ = checked_step(env, action)
    try:
        parse_action(action)
    except ActionError:
        if env_id.endswith("PTBench-v0"):  # one-shot: the answer is scored as unreadable
            assert payload["type"] == "scored" and payload["format_ok"] is False and terminated
        else:  # an error and a penalty
            assert payload["type"] == "error" and reward < 0 and not terminated


@pytest.mark.parametrize("env_id", TEXT_IDS)
@FUZZ
@given(action=actions)
def test_step_never_raises(env_id: str, action: str) -> None:
    check_first_step(env_id, action)


@pytest.mark.parametrize("env_id", TEXT_IDS)
@settings(FUZZ, max_examples=30)
@given(
    action=st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.binary(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(some_text, some_text, max_size=2),
    )
)
def test_step_of_a_non_string_never_raises(env_id: str, action: Any) -> None:
    check_first_step(env_id, action)


@pytest.mark.parametrize("env_id", TEXT_IDS)
@settings(FUZZ, max_examples=15)
@given(episode=st.lists(actions, min_size=1, max_size=16))
def test_episodes_of_odd_actions_never_raise(env_id: str, episode: list[str]) -> None:
    """Many actions in a row, through truncation and into the next episode or request."""
    env = env_for(env_id)
    env.reset(seed=0)
    for action in episode:
        _, _, terminated, truncated = checked_step(env, action)
        if terminated or truncated:
            env.reset()


# -- the reported bugs, with their exact inputs, in every text id ------------------------------
def _nested_arguments(depth: int) -> str:
    return '{"name": "f", "arguments": "' + "[" * depth + "]" * depth + '"}'


BUG_ACTIONS = [
    '{"name": "finish", "arguments": {"x": ' + "9" * 5000 + "}}",  # 1: int() past 4300 digits raised ValueError
    "P:[f(a=" + "9" * 5000 + ")]",
    _nested_arguments(1000),  # 2: arguments as a JSON string nested 1000 deep raised RecursionError
    '{"name":"f","arguments":"' + '{\\"a\\":' * 1000 + "1" + "}" * 1000 + '"}',
    '{"name": "finish", "arguments": {"x": NaN}}',  # 3: NaN/Infinity were read, and could be echoed
    '{"name": "finish", "arguments": {"x": Infinity}}',
    '{"name": "finish", "arguments": {"x": -Infinity}}',
    '{"name": "finish", "arguments": {"x": 1e999}}',
]


@pytest.mark.parametrize("env_id", TEXT_IDS)
@pytest.mark.parametrize("action", BUG_ACTIONS, ids=range(len(BUG_ACTIONS)))
def test_reported_bug_inputs_are_bad_actions(env_id: str, action: str) -> None:
    env = env_for(env_id)
    env.reset(seed=1)
    obs, reward, terminated, *_ = env.step(action)
    payload = strict_observation(obs)
    if env_id.endswith("PTBench-v0"):
        assert payload["type"] == "scored" and payload["format_ok"] is False
    else:
        assert payload["type"] == "error" and reward < 0 and not terminated
    env.reset()


def test_infinity_is_never_echoed_in_a_tool_result() -> None:
    """A price alert kept its target price as given and returned it: Infinity (and 1e999, read
    as inf) came back in the observation, which was then not strict JSON."""
    env = env_for("ptenv/PersonalTool-v0")
    env.reset(options={"task_id": next(t.id for t in env.unwrapped.tasks if t.scenario == "travel")})  # type: ignore[attr-defined]
    ok = '{"name": "jetswift__set_price_alert", "arguments": {"origin": "Paris", "destination": "Rome", "target_price": %s, "notify_email": "a@b.c"}}'
    payload = strict_observation(env.step(ok % "100")[0])
    assert payload["results"][0]["ok"] and payload["results"][0]["output"]["price_alert"]["target_price"] == 100
    for value in ("Infinity", "-Infinity", "NaN", "1e999"):
        payload = strict_observation(env.step(ok % value)[0])
        assert payload["type"] == "error" and "target_price" not in json.dumps(payload)
    env.reset()


# -- the numeric ids: an action is an integer index of Discrete(n), nothing else ----------------
REFUSED: list[Any] = [
    True,
    False,
    np.bool_(True),
    1.5,
    3.0,
    np.float32(2),
    "3",
    None,
    [1],
    (1,),
    np.array([1]),
    np.array(1.0),
    np.array(True),
    1 + 0j,
    b"1",
    -1,
    9,
    10**30,
    np.int64(9),
    np.array(-1),
]


@pytest.mark.parametrize("env_id", NUMERIC_IDS)
@pytest.mark.parametrize("action", REFUSED, ids=lambda a: f"{type(a).__name__}:{a!r}"[:40])
def test_numeric_ids_refuse_what_is_not_an_index(env_id: str, action: Any) -> None:
    env = env_for(env_id)
    n = int(env.action_space.n)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=rf"action must be an integer in Discrete\({n}\) \(0\.\.{n - 1}\), got "):
        env.step(action)


def test_numeric_refusal_names_what_was_sent() -> None:
    env = env_for(NUMERIC_IDS[0])
    with pytest.raises(ValueError) as exc:
        env.step("3")
    assert str(exc.value) == "action must be an integer in Discrete(9) (0..8), got '3' (str)"
    with pytest.raises(ValueError, match=r"got True \(bool\)"):
        env.step(True)
    with pytest.raises(ValueError, match=r"got np\.True_ \(np\.bool\)|got True \(np\.bool_\)"):
        env.step(np.bool_(True))
    with pytest.raises(ValueError, match=r"shape \(1,\)"):
        env.step(np.array([2]))


@pytest.mark.parametrize("env_id", NUMERIC_IDS)
def test_numeric_ids_accept_ints_and_numpy_integers(env_id: str) -> None:
    env = env_for(env_id)
    env.reset(seed=0)
    for action in (0, np.int64(0), np.int32(0), np.uint8(0), np.array(0), np.array(0, dtype=np.int16)):
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs) and math.isfinite(float(reward)) and info["action_mask"][0] == 1
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize("env_id", NUMERIC_IDS)
def test_numeric_index_that_is_no_candidate_is_still_a_penalised_action(env_id: str) -> None:
    """In range but masked out: sent on as an unreadable action (as before), not refused."""
    env = env_for(env_id)
    _, info = env.reset(seed=0)
    masked = [i for i, m in enumerate(info["action_mask"]) if not m]
    assert masked
    _, reward, *_ = env.step(np.int64(masked[-1]))
    assert float(reward) < 0


@pytest.mark.parametrize("env_id", NUMERIC_IDS)
@settings(FUZZ, max_examples=60)
@given(action=st.one_of(st.integers(-20, 20), st.integers(), st.floats(), st.text(max_size=3), st.none(), st.booleans()))
def test_numeric_step_refuses_or_steps(env_id: str, action: Any) -> None:
    env = env_for(env_id)
    n = int(env.action_space.n)  # type: ignore[attr-defined]
    if type(action) is int and 0 <= action < n:
        obs, reward, terminated, truncated, _ = env.step(action)
        assert env.observation_space.contains(obs) and math.isfinite(float(reward))
        if terminated or truncated:
            env.reset()
    else:
        with pytest.raises(ValueError, match=rf"Discrete\({n}\)"):
            env.step(action)
