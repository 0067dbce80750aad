"""The finishing step's fast paths, each held to the plain rule on seeded random cases.

* The strict scorer judges each value against one set per parameter (the gold's ``str``/``int``
  values as given and every normalized key), takes the hits of an answer with every gold argument
  from the gold (minus the wrong ones), labels a record whose only fault is its values without the
  error taxonomy, and names the wrong values only when words are asked for.
* A step observation with one result is written in one piece.

The answers here are drawn to reach those paths often: the gold's functions called once each, with
its parameter names, most values right, on the right platform.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from test_scoring_fast_paths import FUNCS, PARAMS, VALUES, plain_strict

from ptenv.core.observations import _ENCODER, dumps
from ptenv.scoring import GoldAnswer, Prediction, score_record
from ptenv.scoring.scorer import _errors
from ptenv.scoring.values import _norm, _norm_of
from ptenv.tools_registry.world import Encoded, EncodedRecord, EncodedResult

#: What the strict scorer decides of a record (the parameter totals are the gold's, not judged).
JUDGED = ("format", "platforms", "tool_names", "tool_param_names", "tool_param_values", "overall", "query_hits", "profile_hits", "errors")


def gold_like_case(rng: random.Random) -> tuple[Prediction, GoldAnswer]:
    """A gold, and an answer close to it: each gold function once, most arguments right."""
    funcs = rng.sample(FUNCS, rng.randint(1, 3))
    gold_calls = [(f, {p: tuple(rng.sample(VALUES[:-1], rng.randint(1, 3))) for p in rng.sample(PARAMS, rng.randint(1, 4))}) for f in funcs]
    if rng.random() < 0.1:  # a gold that calls a function twice
        gold_calls.append((funcs[0], dict(gold_calls[0][1])))
    query = tuple(rng.sample(PARAMS, rng.randint(0, 2)))
    profile = tuple(p for p in PARAMS if p not in query and rng.random() < 0.5)
    gold = GoldAnswer("QuickBite", tuple(gold_calls), query, profile, ("quickbite",))
    calls = []
    for f, params in dict(gold_calls).items():
        if rng.random() < 0.05:
            continue  # a missing function
        args: dict[str, Any] = {}
        for p, acc in params.items():
            if rng.random() < 0.95:
                args[p] = rng.choice(acc) if rng.random() < 0.85 else rng.choice(VALUES)
        if rng.random() < 0.05:
            args[rng.choice(PARAMS)] = rng.choice(VALUES)  # an argument the gold has not, or another value
        calls.append((f, args))
    if rng.random() < 0.05:
        calls.append((rng.choice(FUNCS), {}))  # an extra (or a repeated) call
    rng.shuffle(calls)
    platform = rng.choice(["QuickBite", "QuickBite", "quickbite", " QuickBite", "FoodHub"])
    return Prediction(platform, tuple(calls)), gold


@pytest.mark.parametrize("seed", range(4))
def test_the_strict_scorer_follows_its_plain_rules_on_near_answers(seed: int) -> None:
    rng = random.Random(100 + seed)
    paths = {"right": 0, "values": 0, "other": 0}
    for _ in range(600):
        pred, gold = gold_like_case(rng)
        fast, plain = score_record(pred, gold, "strict"), plain_strict(pred, gold)
        assert [getattr(fast, k) for k in JUDGED] == [getattr(plain, k) for k in JUDGED], (pred, gold)
        paths["right" if fast.overall else "values" if fast.errors == {"value_error": 1} else "other"] += 1
    assert min(paths.values()) > 30, paths  # each path is taken often


@pytest.mark.parametrize("seed", range(2))
def test_the_notes_are_the_error_taxonomys(seed: int) -> None:
    """The notes of a record that is not right are what the generic taxonomy says (the strict
    scorer skips it when only values are wrong, and names the wrong values only for the notes)."""
    rng = random.Random(200 + seed)
    for _ in range(600):
        pred, gold = gold_like_case(rng)
        record = score_record(pred, gold, "strict", notes=True)
        assert pred.calls is not None
        plain = plain_strict(pred, gold)
        why = [] if plain.platforms else [f"platform {pred.platform!r} instead of {gold.platform!r}"]
        if not plain.tool_param_values:
            pred_map = dict(pred.calls)  # values are judged on a function's last call
            wrong = [
                f"{f}.{p}"
                for f, params in dict(gold.calls).items()
                for p, acc in params.items()
                if p in pred_map.get(f, {}) and _norm_of(pred_map[f][p]) not in {_norm_of(a) for a in acc}
            ]
            assert _errors(pred.calls, gold, pred_map, wrong, "strict", why) == record.errors
        assert record.notes == why, (pred, gold)


def test_one_set_per_parameter_decides_as_the_two_did() -> None:
    """A str or int found among the gold's values as given, or a normalized key found among the
    gold's: the same answer from one set as from strict_exact and strict_values apart."""
    gold = GoldAnswer("QuickBite", tuple((f"f{i}", {"x": (v,)}) for i, v in enumerate(VALUES[:-1])))
    for f, params in gold.calls:
        one, exact, values = gold.strict_accepted[f]["x"], gold.strict_exact[f]["x"], gold.strict_values[f]["x"]
        for v in [*VALUES, 2.5, "2.5", 1.0, "1", " Two "]:
            t = type(v)
            apart = (t is str or t is int) and v in exact or _norm(v) in values
            assert ((t is str or t is int) and v in one or _norm(v) in one) == apart, (params, v)


def test_a_right_answers_hits_are_the_gold_pairs() -> None:
    rng = random.Random(7)
    for _ in range(300):
        pred, gold = gold_like_case(rng)
        right = Prediction("QuickBite", tuple((f, {p: acc[0] for p, acc in params.items()}) for f, params in dict(gold.calls).items()))
        record = score_record(right, gold, "strict")
        if record.overall:  # every gold function once (a gold that repeats one is not answered so)
            assert (record.query_hits, record.profile_hits) == gold.strict_full_hits


def _result(rng: random.Random) -> dict[str, Any]:
    record = EncodedRecord({"id": "r1", "name": 'Caf\u00e9 "Z"', "price": 9.5})
    output: Any = rng.choice(
        [
            Encoded({"finished": True}),
            EncodedResult([record], 1),
            {"results": [record], "count": 1},
            {"results": [record, {"id": 2}], "count": 2},
            {"ok": "plain"},
            None,
        ]
    )
    res: dict[str, Any] = {"tool": rng.choice(["finish", "quickbite__search_dishes"]), "ok": rng.random() < 0.8, "output": output}
    if rng.random() < 0.2:
        res = {"tool": res["tool"], "ok": False, "error": {"code": "x", "message": "y"}}
    if rng.random() < 0.1:
        res["extra"] = 1
    return res


def test_a_step_observation_is_the_encoding_of_its_payload() -> None:
    """The one-result observation (a finishing step's above all) written in one piece, and every
    other shape, are the bytes of a plain encode."""
    rng = random.Random(3)
    for _ in range(2000):
        payload: dict[str, Any] = {"type": "tool_results", "step": rng.randint(0, 9), "results": [], "steps_left": rng.randint(0, 9)}
        payload["results"] = [_result(rng) for _ in range(rng.choice([1, 1, 1, 0, 2, 3]))]
        if rng.random() < 0.1:
            payload["notes"] = ["a note"]
        assert dumps(payload) == _ENCODER.encode(payload), payload
