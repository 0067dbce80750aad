"""PTBench's metrics: eight accuracy columns and the error taxonomy, with two scorers.

* ``compat`` reproduces the published scorer figure for figure, quirks included
  (../shared/reference/ptbench.md lists them; docs/scoring.md explains each).
* ``strict`` is our corrected scorer: type-aware values, every accepted alternative, error labels
  the right way round, duplicate calls penalised, platform-gated argument accuracy.

Both score a *prediction* (a platform and a list of calls ``(function, arguments)``) against a
:class:`GoldAnswer` in PTBench's vocabulary (platform display name, function names as the
platform spells them, a list of accepted values per parameter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ptenv.scoring.gold import GoldAnswer
from ptenv.scoring.values import _compat_value_ok, _count, _norm, _Raised

Scorer = Literal["compat", "strict"]
COLUMNS: tuple[str, ...] = (
    "format",
    "platforms",
    "tool_names",
    "tool_param_names",
    "tool_param_values",
    "query_params",
    "profile_params",
    "overall",
)
#: Short headers for tables and plots, by column.
SHORT_LABELS: dict[str, str] = {
    "format": "format",
    "platforms": "platform",
    "tool_names": "tools",
    "tool_param_names": "params",
    "tool_param_values": "values",
    "query_params": "query",
    "profile_params": "profile",
    "overall": "overall",
    "preference_params": "prefs",
}
ERRORS: tuple[str, ...] = (
    "func_wrong_error",
    "func_missing_error",
    "func_excessive_error",
    "param_missing_error",
    "param_excessive_error",
    "value_error",
)


@dataclass(frozen=True, slots=True)
class Prediction:
    """A parsed answer. ``calls`` is None when the text could not be parsed (format failure)."""

    platform: str | None
    calls: tuple[tuple[str, dict[str, Any]], ...] | None
    positional: int = 0


@dataclass(slots=True)
class RecordScore:
    format: bool = False
    platforms: bool = False
    tool_names: bool = False
    tool_param_names: bool = False
    tool_param_values: bool = False
    overall: bool = False
    query_hits: int = 0
    query_total: int = 0
    profile_hits: int = 0
    profile_total: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    #: Why the record lost points, in words (empty when all is right).
    notes: list[str] = field(default_factory=list)
    #: Arguments a preference decides (ptenv-v2), judged apart from PTBench's columns (last: the
    #: fast path makes records positionally).
    preference_hits: int = 0
    preference_total: int = 0

    def as_dict(self, notes: bool = False) -> dict[str, Any]:
        """The record as JSON-ready data. ``notes`` name gold values ("platform X instead of Y"):
        they are for debugging and reports, never for an agent's ``info``."""
        out = {
            "format": self.format,
            "platforms": self.platforms,
            "tool_names": self.tool_names,
            "tool_param_names": self.tool_param_names,
            "tool_param_values": self.tool_param_values,
            "overall": self.overall,
            "query_params": [self.query_hits, self.query_total],
            "profile_params": [self.profile_hits, self.profile_total],
            "errors": dict(self.errors),
        }
        if self.preference_total:  # ptenv-v2 only: ptenv-v1's records keep their shape
            out["preference_params"] = [self.preference_hits, self.preference_total]
        if notes:
            out["notes"] = list(self.notes)
        return out


def record_from_dict(d: dict[str, Any]) -> RecordScore:
    """Inverse of :meth:`RecordScore.as_dict` (results files store records as dicts)."""
    q, p, f = d["query_params"], d["profile_params"], d.get("preference_params") or (0, 0)
    return RecordScore(
        format=d["format"],
        platforms=d["platforms"],
        tool_names=d["tool_names"],
        tool_param_names=d["tool_param_names"],
        tool_param_values=d["tool_param_values"],
        overall=d["overall"],
        query_hits=q[0],
        query_total=q[1],
        profile_hits=p[0],
        profile_total=p[1],
        preference_hits=f[0],
        preference_total=f[1],
        errors=dict(d.get("errors", {})),
        notes=list(d.get("notes", [])),
    )


# -- one record --------------------------------------------------------------------------------
def judge_decline(declined: bool, wrote: bool) -> RecordScore:
    """A request the rules forbid (ptenv-v2's ``refusal`` tasks): right when the agent declined
    it and nothing that writes went through; every column says the same (there are no calls or
    arguments to judge, so the query and profile columns have nothing to count)."""
    right = declined and not wrote
    return RecordScore(True, right, right, right, right, right, errors={} if right else {"func_excessive_error": 1} if wrote else {})


def score_record(pred: Prediction, gold: GoldAnswer, scorer: Scorer = "compat", notes: bool = True) -> RecordScore:
    """Score one prediction. ``notes`` off leaves :attr:`RecordScore.notes` empty (the words cost
    time at every episode's end and are shown only in debug mode)."""
    if pred.calls is None:
        return RecordScore(query_total=gold.param_totals[0], profile_total=gold.param_totals[1], notes=["answer could not be parsed"])
    if scorer == "strict":
        if pred.positional:
            why = [f"{pred.positional} positional argument(s): arguments must be named"]
            return RecordScore(query_total=gold.param_totals[0], profile_total=gold.param_totals[1], notes=why)
        pred_map: dict[str, dict[str, Any]] = {}  # dict semantics: a repeated function keeps its last arguments
        counts: dict[str, int] = {}
        for f, a in pred.calls:
            pred_map[f] = a
            counts[f] = counts.get(f, 0) + 1
        return judge_strict(pred.platform, pred.calls, pred_map, counts, gold, notes)
    s = RecordScore(query_total=gold.param_totals[0], profile_total=gold.param_totals[1])
    try:
        _score(pred, gold, scorer, s)
    except _Raised as exc:  # published behaviour: the whole record becomes a format failure
        return RecordScore(query_total=s.query_total, profile_total=s.profile_total, notes=[f"scorer raised: {exc}"])
    return s


def judge_strict(
    platform: str | None,
    calls: tuple[tuple[str, dict[str, Any]], ...],
    pred_map: dict[str, dict[str, Any]],
    counts: dict[str, int],
    gold: GoldAnswer,
    notes: bool = True,
) -> RecordScore:
    """The strict scorer on a prediction given with its index: ``pred_map`` (each function's last
    arguments) and ``counts`` (calls per function). Written for speed, as every episode ends here:
    the gold's side is worked out once on the gold, and the record is made once, whole."""
    accepted, full_hits, gold_counts, platform_names, as_spelled, query, profile, n_query, n_profile = gold.strict_plan
    # a platform spelled as the gold spells it (what a call's platform name usually is) is
    # accepted without making a normalized string of it
    platforms = platform in as_spelled or (platform or "").strip().lower() in platform_names
    names = counts == gold_counts
    why: list[str] | None = [] if notes else None
    if why is not None and not platforms:
        why.append(f"platform {platform!r} instead of {gold.platform!r}")
    if len(pred_map) == len(calls):
        # each function called once (the usual answer): every (function, argument) pair is judged
        # once; _strict_repeated gives the same. With the gold's functions (names), each call is
        # one of them, so its parameter names are checked on the way.
        param_names = names
        wrong: set[tuple[str, str]] | None = None
        for f, args in calls:
            expected = accepted.get(f)
            if expected is None:
                continue
            if param_names and args.keys() != expected.keys():
                param_names = False
            for p, v in args.items():
                ok = expected.get(p)
                if ok is None:  # not a parameter of the gold's
                    continue
                # a str or an int is looked up as given first (strict_accepted: the fast path)
                t = type(v)
                if not ((t is str or t is int) and v in ok or _norm(v) in ok):
                    if wrong is None:
                        wrong = {(f, p)}
                    else:
                        wrong.add((f, p))
        if not platforms:  # argument accuracy is gated on the platform
            query_hits = profile_hits = 0
        elif param_names:  # every argument of the gold given: each hits but the wrong ones
            query_hits, profile_hits = full_hits
            if wrong:
                for _, p in wrong:
                    query_hits -= p in query
                    profile_hits -= p in profile
        else:
            query_hits, profile_hits = _hits(calls, accepted, wrong, query, profile)
    else:
        param_names = names and all(pred_map[f].keys() == params.keys() for f, params in accepted.items())
        wrong, query_hits, profile_hits = _strict_repeated(calls, gold, pred_map, platforms)
    values = param_names and not wrong
    # the wrong values are named (``f.p``) only for what needs the words: notes, and _errors
    if values:
        errors = {}
    elif param_names:  # the gold's functions and parameter names: the values are what is wrong
        errors = {"value_error": 1}
        if why is not None:
            why.append(f"wrong values for {_named(accepted, wrong)}")
    else:
        errors = _errors(calls, gold, pred_map, _named(accepted, wrong), "strict", why, counts, gold_counts)
    return RecordScore(
        True,
        platforms,
        names,
        param_names,
        values,
        values and platforms,
        query_hits,
        n_query,
        profile_hits,
        n_profile,
        errors,
        why if why is not None else [],
    )


def _named(accepted: dict[str, dict[str, frozenset[Any]]], wrong: set[tuple[str, str]] | None) -> list[str]:
    """The (function, parameter) pairs ``wrong`` as ``function.parameter``, in the gold's order."""
    return [f"{f}.{p}" for f, params in accepted.items() for p in params if (f, p) in wrong] if wrong else []


def _hits(
    calls: tuple[tuple[str, dict[str, Any]], ...],
    accepted: dict[str, dict[str, frozenset[Any]]],
    wrong: set[tuple[str, str]] | None,
    query: frozenset[str],
    profile: frozenset[str],
) -> tuple[int, int]:
    """The query and profile hits of an answer that calls each function once: its arguments of
    the gold's parameters, but those with a ``wrong`` value."""
    query_hits = profile_hits = 0
    for f, args in calls:
        expected = accepted.get(f)
        if expected is None:
            continue
        for p in args:
            if p in expected and (wrong is None or (f, p) not in wrong):
                query_hits += p in query
                profile_hits += p in profile
    return query_hits, profile_hits


def _strict_repeated(
    calls: tuple[tuple[str, dict[str, Any]], ...], gold: GoldAnswer, pred_map: dict[str, dict[str, Any]], platforms: bool
) -> tuple[set[tuple[str, str]], int, int]:
    """The strict scorer's wrong values (their (function, parameter) pairs) and hits when a
    function is called more than once: values are judged on its last call, hits on the first call
    of each (function, argument) pair."""
    gold_map, norm = gold.by_function, gold.strict_values
    wrong: set[tuple[str, str]] = set()
    for f, params in gold_map.items():
        args = pred_map.get(f)
        if args is None:
            continue
        accepted = norm[f]
        for p in params:
            if p in args and _norm(args[p]) not in accepted[p]:
                wrong.add((f, p))
    query_hits = profile_hits = 0
    if platforms:  # argument accuracy is gated on the platform; a duplicate call earns nothing twice
        query, profile = gold.query_set, gold.profile_set
        seen: set[tuple[str, str]] = set()
        for f, args in calls:
            expected = gold_map.get(f)
            if expected is None:
                continue
            accepted = norm[f]
            for p, v in args.items():
                if p not in expected or (f, p) in seen:
                    continue
                seen.add((f, p))
                if _norm(v) in accepted[p]:
                    query_hits += p in query
                    profile_hits += p in profile
    return wrong, query_hits, profile_hits


def _score(pred: Prediction, gold: GoldAnswer, scorer: Scorer, s: RecordScore) -> None:
    """The compat scorer (PTBench's published one, quirks included)."""
    assert pred.calls is not None
    gold_map = gold.by_function
    # dict semantics: a repeated function keeps its last arguments
    pred_map: dict[str, dict[str, Any]] = {f: a for f, a in pred.calls}
    s.format = True
    s.platforms = pred.platform == gold.platform
    s.tool_names = set(pred_map) == set(gold_map)
    if not s.platforms:
        s.notes.append(f"platform {pred.platform!r} instead of {gold.platform!r}")
    s.tool_param_names = s.tool_names and all(set(pred_map[f]) == set(gold_map[f]) for f in gold_map)
    wrong_values = []
    for f, params in gold_map.items():
        for p in params:
            if f in pred_map and p in pred_map[f] and not _compat_value_ok(pred_map[f][p], params[p]):
                wrong_values.append(f"{f}.{p}")
    s.tool_param_values = s.tool_param_names and not wrong_values
    s.overall = s.tool_param_values and s.platforms
    # query / profile parameter accuracy: not gated on the platform, duplicates count again (as published)
    for f, args in pred.calls:
        for p, v in args.items():
            if f not in gold_map or p not in gold_map[f]:
                continue
            if _compat_value_ok(v, gold_map[f][p]):
                s.query_hits += p in gold.query_params
                s.profile_hits += p in gold.profile_params
    if not s.tool_param_values:  # right functions, names and values: no error to classify
        s.errors = _errors(pred.calls, gold, pred_map, wrong_values, scorer, s.notes)


def _errors(
    calls: tuple[tuple[str, dict[str, Any]], ...],
    gold: GoldAnswer,
    pred_map: dict[str, dict[str, Any]],
    wrong_values: list[str],
    scorer: Scorer,
    notes: list[str] | None,
    pred_counts: dict[str, int] | None = None,
    gold_counts: dict[str, int] | None = None,
) -> dict[str, int]:
    """PTBench's error taxonomy for a record that is not right (one label per kind); its words go
    to ``notes`` unless that is None. The strict scorer passes the calls per function it has
    counted (``pred_counts``, ``gold_counts``: the gold's function_counts)."""
    if scorer == "compat":  # function *sets*: a duplicate call is no error
        gold_map = gold.by_function
        extra, missing = set(pred_map) - set(gold_map), set(gold_map) - set(pred_map)
    else:  # call multisets: a duplicate call is an excessive one
        pc = pred_counts if pred_counts is not None else _count(f for f, _ in calls)
        gc = gold_counts if gold_counts is not None else gold.function_counts
        extra, missing = pc.keys() - gc.keys(), gc.keys() - pc.keys()
        for f in pc.keys() & gc.keys():  # called by both: more or fewer times
            if pc[f] > gc[f]:
                extra.add(f)
            elif pc[f] < gc[f]:
                missing.add(f)
    # compat reports extra functions as "missing" and missing ones as "excessive" (quirk 6)
    label_extra, label_missing = (
        ("func_missing_error", "func_excessive_error") if scorer == "compat" else ("func_excessive_error", "func_missing_error")
    )
    p_extra_label, p_missing_label = (
        ("param_missing_error", "param_excessive_error") if scorer == "compat" else ("param_excessive_error", "param_missing_error")
    )
    err: dict[str, int] = {}
    if extra and missing:
        err["func_wrong_error"] = 1
        if notes is not None:
            notes.append(f"wrong functions: called {sorted(extra)}, expected {sorted(missing)}")
    elif extra:
        err[label_extra] = 1
        if notes is not None:
            notes.append(f"unexpected functions {sorted(extra)}")
    elif missing:
        err[label_missing] = 1
        if notes is not None:
            notes.append(f"missing functions {sorted(missing)}")
    else:
        gold_map = gold.by_function
        p_extra = [f"{f}.{p}" for f in gold_map for p in pred_map[f] if p not in gold_map[f]]
        p_missing = [f"{f}.{p}" for f in gold_map for p in gold_map[f] if p not in pred_map[f]]
        if p_extra:
            err[p_extra_label] = 1
        if p_missing:
            err[p_missing_label] = 1
        if not p_extra and not p_missing and wrong_values:
            err["value_error"] = 1
        if notes is not None:
            if p_extra:
                notes.append(f"unexpected arguments {p_extra}")
            if p_missing:
                notes.append(f"missing arguments {p_missing}")
            if not p_extra and not p_missing and wrong_values:
                notes.append(f"wrong values for {wrong_values}")
    return err
