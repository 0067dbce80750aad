"""The end of every episode runs written-for-speed code: the strict scorer (judged from a call
index, values of the gold's own type accepted without normalizing) and the reward model (written
out). Each is held here to a plain statement of the same rules, on seeded random answers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ptenv.core.reward import COSTS, NO_STEP_PENALTIES, PENALTIES, REWARD_WEIGHTS, TERMS, RewardModel, reward_terms
from ptenv.scoring import GoldAnswer, Prediction, RecordScore, score_record
from ptenv.scoring.values import _norm_of


def plain_strict(pred: Prediction, gold: GoldAnswer) -> RecordScore:
    """The strict scorer's rules (docs/scoring.md), written plainly: every value normalized."""
    # the totals: the names, plus one for each further gold function that takes the same name
    names = [p for params in dict(gold.calls).values() for p in params]

    def total(group: tuple[str, ...]) -> int:
        return len(group) + sum(names.count(p) - 1 for p in set(group) if names.count(p) > 1)

    s = RecordScore(query_total=total(gold.query_params), profile_total=total(gold.profile_params))
    assert pred.calls is not None
    gold_map = dict(gold.calls)
    pred_map = dict(pred.calls)
    accepted = {f: {p: {_norm_of(a) for a in acc} for p, acc in params.items()} for f, params in gold.calls}

    def ok(f: str, p: str, v: Any) -> bool:
        return _norm_of(v) in accepted[f][p]

    def count(items: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for f, _ in items:
            out[f] = out.get(f, 0) + 1
        return out

    s.format = True
    s.platforms = (pred.platform or "").strip().lower() in {gold.platform.lower(), *(a.lower() for a in gold.platform_aliases)}
    s.tool_names = count(pred.calls) == count(gold.calls)
    s.tool_param_names = s.tool_names and all(set(pred_map[f]) == set(gold_map[f]) for f in gold_map)
    wrong = [
        f"{f}.{p}" for f, params in gold_map.items() for p in params if f in pred_map and p in pred_map[f] and not ok(f, p, pred_map[f][p])
    ]
    s.tool_param_values = s.tool_param_names and not wrong
    s.overall = s.tool_param_values and s.platforms
    seen = set()
    for f, args in pred.calls:
        for p, v in args.items():
            if f in gold_map and p in gold_map[f] and (f, p) not in seen:
                seen.add((f, p))
                if s.platforms and ok(f, p, v):
                    s.query_hits += p in gold.query_params
                    s.profile_hits += p in gold.profile_params
    if not s.tool_param_values:
        pc, gc = count(pred.calls), count(gold.calls)
        extra = {f for f, n in pc.items() if n > gc.get(f, 0)}
        missing = {f for f, n in gc.items() if n > pc.get(f, 0)}
        if extra and missing:
            s.errors = {"func_wrong_error": 1}
        elif extra:
            s.errors = {"func_excessive_error": 1}
        elif missing:
            s.errors = {"func_missing_error": 1}
        else:
            p_extra = any(p not in gold_map[f] for f in gold_map for p in pred_map[f])
            p_missing = any(p not in pred_map[f] for f in gold_map for p in gold_map[f])
            s.errors = {
                **({"param_excessive_error": 1} if p_extra else {}),
                **({"param_missing_error": 1} if p_missing else {}),
                **({"value_error": 1} if not p_extra and not p_missing and wrong else {}),
            }
    return s


# values that are alike in one way and not in another: case, spaces, numbers as text, bools
VALUES: list[Any] = [
    "Curry",
    "curry",
    " curry ",
    "2",
    "2.0",
    "two",
    2,
    2.0,
    2.0000001,
    True,
    False,
    1,
    0,
    "1",
    "true",
    -0.0,
    0.0,
    ["a", "B"],
    ["b", "a"],
    ["a"],
    None,
]
FUNCS = ("search", "order", "book")
PARAMS = ("keyword", "qty", "phone", "address")


def random_case(rng: random.Random) -> tuple[Prediction, GoldAnswer]:
    gold_calls = []
    for f in rng.sample(FUNCS, rng.randint(1, 3)) + ([rng.choice(FUNCS)] if rng.random() < 0.2 else []):
        gold_calls.append((f, {p: tuple(rng.sample(VALUES[:-1], rng.randint(1, 3))) for p in rng.sample(PARAMS, rng.randint(1, 4))}))
    gold = GoldAnswer("QuickBite", tuple(gold_calls), ("keyword", "qty"), ("phone", "address"), ("quickbite",))
    calls = []
    for f, params in gold_calls if rng.random() < 0.7 else [(rng.choice(FUNCS), {p: () for p in rng.sample(PARAMS, 2)})]:
        if rng.random() < 0.1:
            continue
        args = {}
        for p, acc in params.items():
            if rng.random() < 0.9:
                args[p] = rng.choice(acc) if acc and rng.random() < 0.6 else rng.choice(VALUES)
        if rng.random() < 0.15:
            args[rng.choice(PARAMS)] = rng.choice(VALUES)
        calls.append((f, args))
        if rng.random() < 0.1:
            calls.append((f, dict(args)))  # a repeated call
    platform = rng.choice(["QuickBite", "quickbite", " QuickBite ", "FoodHub", None])
    return Prediction(platform, tuple(calls)), gold


@pytest.mark.parametrize("seed", range(4))
def test_the_strict_scorer_follows_its_plain_rules(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        pred, gold = random_case(rng)
        fast, plain = score_record(pred, gold, "strict"), plain_strict(pred, gold)
        assert fast.as_dict() == plain.as_dict(), (pred, gold)
        quiet = score_record(pred, gold, "strict", notes=False)
        assert quiet.as_dict() == fast.as_dict() and quiet.notes == []  # notes are words only


def test_a_bool_is_never_the_number_it_equals() -> None:
    gold = GoldAnswer("QuickBite", (("order", {"qty": (1,), "rush": (True,)}),))
    right = score_record(Prediction("QuickBite", (("order", {"qty": 1, "rush": True}),)), gold, "strict")
    swapped = score_record(Prediction("QuickBite", (("order", {"qty": True, "rush": 1}),)), gold, "strict")
    assert right.overall and not swapped.tool_param_values and swapped.errors == {"value_error": 1}


def records(rng: random.Random) -> list[RecordScore]:
    out = []
    for _ in range(300):
        qt, pt = rng.randint(0, 3), rng.randint(0, 3)
        flags = [rng.random() < 0.5 for _ in range(6)]
        out.append(RecordScore(*flags, rng.randint(0, qt + 1), qt, rng.randint(0, pt + 1), pt))
    return out


@pytest.mark.parametrize("mode", ["shaped", "sparse"])
def test_the_reward_is_its_weighted_terms_minus_its_penalties(mode: str) -> None:
    rng = random.Random(7)
    for record in records(rng):
        steps = {"invalid": rng.randint(0, 3) * COSTS["invalid"], "questions": rng.randint(0, 2) * COSTS["question"], "lookups": 0.0}
        extra_read, extra_write = rng.randint(0, 3), rng.randint(0, 2)
        score = RewardModel(mode).score(record, steps, extra_read, extra_write)  # type: ignore[arg-type]
        terms = reward_terms(record)
        assert score.terms == terms and tuple(score.terms) == TERMS == tuple(REWARD_WEIGHTS)
        assert tuple(score.reward_terms) == (*TERMS, *PENALTIES, "total")
        extra = extra_read * COSTS["extra_read"] + extra_write * COSTS["extra_write"]
        assert score.penalties == pytest.approx(
            {"penalty_invalid": steps["invalid"], "penalty_questions": steps["questions"], "penalty_lookups": 0.0}
            | {"penalty_extra_read": extra_read * COSTS["extra_read"], "penalty_extra_write": extra_write * COSTS["extra_write"]}
        )
        if mode == "sparse":
            assert score.terminal_reward == score.total == terms["success"]
        else:
            terminal = sum(REWARD_WEIGHTS[k] * v for k, v in terms.items()) - extra
            assert score.terminal_reward == pytest.approx(terminal)
            assert score.total == pytest.approx(terminal - sum(steps.values()))
    assert RewardModel().score(RecordScore(), NO_STEP_PENALTIES).total == 0.0


def test_a_call_names_its_platform_as_the_scorer_spells_it() -> None:
    """Calls carry their platform's display name (what the gold names), not looked up at the end."""
    from ptenv.tools_registry import Registry

    registry = Registry.default()
    for sid, scenario in registry.scenarios.items():
        tools = registry.tool_index(sid).values()
        assert tools
        assert all(t.platform_name == scenario.platform(t.platform).name for t in tools)


def test_words_on_what_was_wrong_come_in_debug_mode_only() -> None:
    import gymnasium as gym

    for debug in (False, True):
        env = gym.make("ptenv/PersonalTool-v0", split="test", debug=debug)
        env.reset(seed=3)
        *_, info = env.step('{"name": "finish"}')  # nothing done: the platform and functions are wrong
        assert not info["success"] and info["metrics"]["errors"]
        assert ("notes" in info["metrics"]) is debug and (not debug or info["metrics"]["notes"])
        env.close()


def plain_rule(calls: list[Any], gold_counts: dict[str, int]) -> tuple[Any, ...]:
    """The multi-step scoring rule (docs/scoring.md) over the whole list of calls at the end."""
    from ptenv.tools_registry import ToolKind

    done = [c for c in calls if c.ok and c.platform is not None]
    if not done:
        return None, (), {}, {}, 0, 0
    chosen = done[-1]
    here = [c for c in done if c.platform == chosen.platform]
    elsewhere = [c.kind == ToolKind.WRITE for c in done if c.platform != chosen.platform]
    reads = [c for c in here if c.kind != ToolKind.WRITE]
    writes = [(c.api, c.args) for c in here if c.kind == ToolKind.WRITE]
    last_read: dict[str, Any] = {}
    for c in reads:
        if c.api in gold_counts:
            last_read[c.api] = c.args
    extra_read = sum(c.api not in gold_counts for c in reads) + sum(c.api in gold_counts for c in reads) - len(last_read)
    write_counts: dict[str, int] = {}
    for api, _ in writes:
        write_counts[api] = write_counts.get(api, 0) + 1
    extra_write = sum(max(0, n - gold_counts.get(api, 0)) for api, n in write_counts.items())
    out = (*last_read.items(), *writes)
    counts = {**write_counts, **dict.fromkeys(last_read, 1)}
    return chosen.platform_name, out, dict(out), counts, extra_read + elsewhere.count(False), extra_write + elsewhere.count(True)


@pytest.mark.parametrize("seed", range(3))
def test_the_trajectory_index_answers_as_the_rule_says(seed: int) -> None:
    from ptenv.core.trajectory import CallRecord, Trajectory
    from ptenv.tools_registry import ToolKind

    rng = random.Random(seed)
    apis = {"search": ToolKind.READ, "details": ToolKind.READ, "history": ToolKind.READ, "order": ToolKind.WRITE, "cancel": ToolKind.WRITE}
    for _ in range(400):
        gold_counts = {api: rng.randint(1, 2) for api in rng.sample(sorted(apis), rng.randint(1, 3))}
        trajectory = Trajectory(gold_counts)
        calls = []
        for i in range(rng.randint(0, 7)):
            platform = rng.choice(["quickbite", "foodhub", "dashly"])
            api = rng.choice(sorted(apis))
            call = CallRecord(f"{platform}__{api}", rng.random() < 0.8, platform, api, apis[api], {"n": i}, platform.title())
            trajectory.add(call)
            calls.append(call)
        got = trajectory.answer()
        assert got == plain_rule(calls, gold_counts), (calls, gold_counts)
        assert trajectory.calls == calls
