"""Candidate actions, built only from what the agent may see.

:class:`CandidateBuilder` reads each observation (never the task or its gold) with
:mod:`ptenv.rl.reader` and offers up to ``K = 9`` candidates: ``finish``, and the request's next
call on each of the scenario's platforms (but one a ptenv-v2 notice rules out), with its
profile-derived arguments from the known profile and without them. After a two-call request's
first call, the second with the id bound from its result; a ptenv-v2 long chain's calls come one
at a time, each bound to the results so far. Whenever the visible information makes
the gold call reachable, one candidate is the gold call. When the profile is hidden, two more come
before the first call: ``lookup`` (the next profile field the request needs, kept for the
episode) and ``ask`` (which app the user would use, once per request, unless they named it);
their answers feed the same state as session feedback, so an agent can learn *when* to ask.

The builder also keeps what the numeric observation reads (:mod:`ptenv.rl.features`): the
request's situation and named platform, the user's past choices and what was learned of them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from ptenv.core.builtins import ASK_USER, GET_PROFILE_FIELD
from ptenv.core.observations import parse_observation
from ptenv.core.user_sim import PLATFORM_QUESTION, told_platform, wanted_platform
from ptenv.rl.chains import LongChainPlan
from ptenv.rl.reader import DEFAULT_NOW, Template, build_args, call_texts, profile_needs, situation_phrase
from ptenv.rl.request import Request, read_request
from ptenv.tools_registry import SCENARIOS, Registry, ScenarioSpec

K = 9


class Candidate(NamedTuple):
    """One action on offer (a tuple: several are made at every step, and a frozen dataclass is
    several times slower to make)."""

    action: str
    kind: str  # "finish" | "call" | "lookup" | "ask"
    platform: str | None = None
    with_profile: bool = False


FINISH = Candidate(json.dumps({"name": "finish"}), "finish")
ASK = Candidate(json.dumps({"name": ASK_USER, "arguments": {"question": PLATFORM_QUESTION}}), "ask")


@dataclass
class CandidateBuilder:
    """Follows an episode through its observation texts and offers candidates."""

    scenario: ScenarioSpec | None = None
    template: Template | None = None
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    context: str | None = None
    named: str | None = None
    now: str = DEFAULT_NOW
    facts: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[str, str | None]] = field(default_factory=list)
    #: Platform ids the user wanted, per (scenario, situation), learned from session feedback
    #: and from the user's answers; ``(scenario, "*")`` pools a scenario's situations.
    learned: dict[tuple[str, str | None], Counter[str]] = field(default_factory=dict)
    #: Whether the profile is hidden (look-ups and questions are on offer).
    hidden: bool = False
    #: Platforms a notice says cannot be used for this request (ptenv-v2): none of their calls is offered.
    unavailable: frozenset[str] = frozenset()
    required: str | None = None  # the platform a shown employer's rule requires for this request (ptenv-v2)
    #: Profile fields read with ``get_profile_field`` (hidden mode; the user is the same all episode).
    looked_up: dict[str, Any] = field(default_factory=dict)
    #: Whether this request's user was asked which app to use, and what they said (a platform id).
    asked: bool = False
    told: str | None = None
    stage: int = 0  # 0: the first call is next; 1: a later one; 2: only finish is left
    #: A long-chain request (ptenv-v2: 3-4 calls): its reading, the chosen plan, its outputs so far.
    request: Request | None = None
    plan: LongChainPlan | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    bound: dict[str, Any] = field(default_factory=dict)
    chosen: str | None = None
    last_ok: bool = False
    _last: Candidate | None = None
    #: The last call taken in this request (feedback after ``finish`` is about it).
    _last_call: Candidate | None = None
    #: What depends on the request only (see :meth:`request_features`, :meth:`candidates`);
    #: emptied by each request.
    _request_cache: dict[Any, Any] = field(default_factory=dict)
    _request_key: tuple[Any, ...] | None = None

    def observe(self, text: str) -> None:
        """Follow the episode by an observation's text (what an agent holds)."""
        self.observe_payload(parse_observation(text, with_tools=False))

    def observe_payload(self, obs: dict[str, Any]) -> None:
        """Follow the episode by an observation's data (what the env encoded, see
        :attr:`ptenv.envs.base.BaseTaskEnv.last_payload`): the same, without parsing ~40 KB of text."""
        kind = obs.get("type")
        if kind == "task":
            if obs.get("feedback") and self._last_call is not None and self.scenario is not None:
                self._learn(str(obs["feedback"]))
            self._start(obs)
        elif kind == "tool_results":
            results = obs.get("results", [])
            self.last_ok = bool(results) and all(r.get("ok") for r in results)
            if self._last is not None and self._last.kind in ("ask", "lookup") and results and results[0].get("ok"):
                self._answered(self._last.kind, results[0].get("output") or {})
            elif self._last is not None and self._last.kind == "call" and results:
                r = results[0]
                if self.plan is not None:  # a long chain: its next call, from the results so far
                    self._chain_step(r)
                elif (
                    self.stage == 0
                    and self.template is not None
                    and self.template.then is not None
                    and r.get("ok")
                    and r.get("output", {}).get("results")
                ):
                    assert self.template.chain is not None
                    first = r["output"]["results"][0]
                    self.bound = {k: first.get(f) for k, f in self.template.chain.bind.items()}
                    self.stage, self.chosen = 1, self._last.platform
                elif r.get("ok"):
                    self.stage = 2
        else:
            self.last_ok = False

    def _start(self, obs: dict[str, Any]) -> None:
        req = read_request(obs)
        self.scenario, self.hidden, self.now = req.scenario, req.hidden, req.now
        # what was looked up stays known for the episode (the user is the same all session)
        self.facts, self.history = (dict(self.looked_up), []) if self.hidden else (req.facts, req.history)
        self.template, self.texts, self.context, self.named = req.template, req.texts, req.context, req.named
        self.unavailable, self.required = req.unavailable, req.required
        self.request, self.plan, self.outputs = (req if req.chain is not None else None), None, []
        self.stage, self.bound, self.chosen, self.last_ok, self._last, self._last_call = 0, {}, None, False, None, None
        self.asked, self.told = False, None
        self._request_cache = {}
        # what a visible request's first candidates depend on, by value (see candidates())
        user = obs.get("user") or {}
        self._request_key = None if self.hidden else (obs.get("scenario"), req.query, req.now, user.get("profile"), req.unavailable)

    def _chain_step(self, result: dict[str, Any]) -> None:
        """After a long chain's call: the next one, or only finish (done, or the call failed)."""
        assert self.plan is not None and self._last is not None
        if result.get("ok"):
            self.outputs.append(result.get("output") or {})
            if self.plan.next_call_text(self.outputs) is not None:
                self.stage, self.chosen = 1, self._last.platform
                return
        self.stage = 2

    def _learn(self, feedback: str) -> None:
        last, sc = self._last_call, self.scenario
        assert last is not None and sc is not None
        if self.named:  # the user named the platform: nothing learned about preferences
            return
        wanted = wanted_platform(feedback, sc, last.platform)
        if wanted:
            self._remember(wanted)

    def _remember(self, wanted: str) -> None:
        """Count a platform the user wanted: per situation, and pooled over the scenario for
        situations not seen yet."""
        assert self.scenario is not None
        self.learned.setdefault((self.scenario.id, self.context), Counter())[wanted] += 1
        self.learned.setdefault((self.scenario.id, "*"), Counter())[wanted] += 1

    def _answered(self, kind: str, output: dict[str, Any]) -> None:
        if kind == "lookup" and "field" in output:
            self.looked_up[str(output["field"])] = output.get("value")
            self.facts[str(output["field"])] = output.get("value")
        elif kind == "ask" and self.scenario is not None:
            self.told = told_platform(str(output.get("answer", "")), self.scenario)
            if self.told:
                self._remember(self.told)

    def candidates(self) -> list[Candidate]:
        """Up to K candidates; ``finish`` is always first."""
        # within a request they change only with the stage, a look-up (facts; a field looked up
        # again has the same value) and the question: built once per such state
        key = (self.stage, len(self.looked_up), self.asked, len(self.outputs))
        hit = self._request_cache.get(key)
        if hit is None:
            # a visible request's first candidates follow from its text and the profile shown:
            # the same request in a later epoch gets them again without building them
            shared = self._request_key if self.stage == 0 and self._request_key is not None else None
            try:
                hit = _FIRST_CANDIDATES.get(shared) if shared is not None else None
            except TypeError:  # an unhashable value in an observation that is not ptenv's
                shared = hit = None
            if hit is None:
                hit = self._build_candidates()
                if shared is not None:
                    if len(_FIRST_CANDIDATES) >= 16384:
                        _FIRST_CANDIDATES.clear()
                    _FIRST_CANDIDATES[shared] = hit
            self._request_cache[key] = hit
        return list(hit)

    def _build_candidates(self) -> list[Candidate]:
        out = [FINISH]
        tpl, sc = self.template, self.scenario
        if self.request is not None and sc is not None and self.stage != 2:
            return self._chain_candidates(sc, self.request)
        if tpl is None or sc is None or self.stage == 2:
            return out
        if self.stage == 0:
            api = tpl.first
            fixed = dict(tpl.chain.first_args) if tpl.chain else {}
        else:
            assert tpl.then is not None
            api, fixed = tpl.then, dict(self.bound)
        full = build_args(api, self.texts, self.now, self.facts, fixed, tpl.read_slot)  # the same on every platform
        # without the profile's values (the same arguments when the API takes none from it)
        bare = build_args(api, self.texts, self.now, {}, fixed, tpl.read_slot) if any(p.profile for p in api.params) else full
        with_profile, without = call_texts(sc, api, full), call_texts(sc, api, bare)
        for p, a, z in zip(sc.platforms, with_profile, without, strict=True):
            if p.id in self.unavailable:
                continue
            out.append(Candidate(a, "call", p.id, True))
            out.append(Candidate(z, "call", p.id, False))
        if self.hidden and self.stage == 0:
            out += self._before_first_call(profile_needs(tpl, self.texts))
        return out[:K]

    def _before_first_call(self, needs: list[str]) -> list[Candidate]:
        """With the profile hidden: a look-up of the next field the request needs, and the question."""
        out = []
        missing = [f for f in needs if f not in self.facts]
        if missing:
            out.append(Candidate(json.dumps({"name": GET_PROFILE_FIELD, "arguments": {"field": missing[0]}}), "lookup"))
        if not self.asked and self.named is None:  # a named platform needs no question
            out.append(ASK)
        return out

    def _chain_candidates(self, sc: ScenarioSpec, req: Request) -> list[Candidate]:
        """A long chain's candidates: its first call on each platform with and without the
        profile's values (each a plan of its own), then the chosen plan's next call."""
        out = [FINISH]
        if self.plan is not None:
            following = self.plan.next_call_text(self.outputs)
            if following is not None and self._last_call is not None:
                out.append(Candidate(following, "call", self.chosen, self._last_call.with_profile))
            return out
        for p in sc.platforms:
            if p.id not in self.unavailable:
                for with_profile in (True, False):
                    first = req.plan(p.id, self.facts if with_profile else {})
                    text = first.next_call_text([]) if first is not None else None
                    if text is not None:
                        out.append(Candidate(text, "call", p.id, with_profile))
        if self.hidden:
            out += self._before_first_call(req.profile_needs())
        return out[:K]

    def choose(self, index: int, cands: list[Candidate]) -> str:
        cand = cands[index] if 0 <= index < len(cands) else None
        self._last = cand
        if cand is not None and cand.kind == "call" and self.request is not None and self.plan is None:
            # a long chain's first call: its plan is the one that call came from
            self.plan = self.request.plan(str(cand.platform), self.facts if cand.with_profile else {})
        if cand is not None and cand.kind == "call":
            self._last_call = cand
        elif cand is not None and cand.kind == "ask":
            self.asked = True
        return cand.action if cand is not None else "(not a valid candidate)"

    # -- what the features need ------------------------------------------------------------
    def request_features(self) -> tuple[float, ...]:
        """The first 23 features: scenario, situation, named platform, and the shares of the
        user's past choices (same situation, by default, all). They depend on the request and the
        visible history only: worked out once for each (a user's requests recur in training)."""
        return self._request_view()[0]

    def request_majorities(self) -> tuple[str | None, str | None]:
        """:meth:`majority` in the same situation and by default (fixed for a request)."""
        return self._request_view()[1:]

    def _request_view(self) -> tuple[tuple[float, ...], str | None, str | None]:
        hit = self._request_cache.get("view")
        if hit is None:
            assert self.scenario is not None
            hit = self._request_cache["view"] = _request_view(self.scenario.id, self.context, self.named, tuple(self.history))
        return hit

    def majority(self, where: str) -> str | None:
        """The platform id the user chose most: in this situation, by default, or as learned."""
        sc = self.scenario
        if sc is None:
            return None
        if where in ("learned", "exact"):  # exact: learned in this very situation, not pooled
            if not self.learned:
                return None
            c = self.learned.get((sc.id, self.context))
            if c is None and where == "learned":
                c = self.learned.get((sc.id, "*"))
            return c.most_common(1)[0][0] if c else None
        names = {p.name: p.id for p in sc.platforms}
        situation = situation_phrase(sc, self.context)
        want = situation if where == "same" else None
        if where == "same" and situation is None:
            return None
        counts = Counter(p for p, s in self.history if s == want)
        return names.get(counts.most_common(1)[0][0]) if counts else None

    def shares(self, where: str) -> list[float]:
        sc = self.scenario
        if sc is None:
            return [0.0, 0.0, 0.0]
        if where == "learned":
            if not self.learned:  # nothing learned yet (every request of a plain episode)
                return [0.0] * len(sc.platforms)
            c = self.learned.get((sc.id, self.context)) or self.learned.get((sc.id, "*")) or Counter()
        else:
            names = {p.name: p.id for p in sc.platforms}
            situation = situation_phrase(sc, self.context)
            want = situation if where == "same" else None
            c = Counter(
                names.get(p, p) for p, s in self.history if (where == "all" or s == want) and not (where == "same" and situation is None)
            )
        total = sum(c.values())
        return [c.get(p.id, 0) / total if total else 0.0 for p in sc.platforms]


@lru_cache(maxsize=8192)
def _request_view(
    scenario: str, context: str | None, named: str | None, history: tuple[tuple[str, str | None], ...]
) -> tuple[tuple[float, ...], str | None, str | None]:
    """What :meth:`CandidateBuilder.request_features` and ``request_majorities`` give, by value."""
    b = CandidateBuilder(scenario=Registry.default().scenarios[scenario], context=context, named=named, history=list(history))
    sc = b.scenario
    assert sc is not None
    head = [0.0] * 14
    head[SCENARIOS.index(sc.id)] = 1.0
    ctx = [c.id for c in sc.contexts]
    head[5 + (ctx.index(context) if context in ctx else 4)] = 1.0
    ids = [p.id for p in sc.platforms]
    head[10 + (ids.index(named) if named in ids else 3)] = 1.0
    head += b.shares("same") + b.shares("default") + b.shares("all")
    return tuple(head), b.majority("same"), b.majority("default")


#: The first candidates of visible requests, by (scenario, query, clock, profile shown). Bounded.
_FIRST_CANDIDATES: dict[tuple[Any, ...], list[Candidate]] = {}


def action_mask(cands: list[Candidate]) -> np.ndarray:
    """1 for each of the first ``len(cands)`` actions (a fresh array: callers may keep or change it)."""
    return _MASKS[min(len(cands), K)].copy()


_MASKS = [np.array([1] * n + [0] * (K - n), dtype=np.int8) for n in range(K + 1)]
