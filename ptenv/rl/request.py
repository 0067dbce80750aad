"""A task observation, read: the request (as written, or in one of ptenv-v2's wordings) and what
the visibility mode shows of the user.

:func:`read_request` is what the scripted agents, the RL candidates and the reference solver
start each request with. It reads a request with the public templates
(:mod:`ptenv.rl.reader`) and, when none fits as written, with the request grammar's wordings
(:mod:`ptenv.rl.wordings`). Everything it reads is public, never a task's gold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ptenv.rl.chains import LongChainPlan, match_long_chain
from ptenv.rl.reader import (
    DEFAULT_NOW,
    Template,
    history_platform,
    match_request,
    parse_facts,
    parse_history,
    profile_needs,
    strip_mention,
    strip_query,
)
from ptenv.rl.wordings import match_varied, peel
from ptenv.scenarios import grammar
from ptenv.scenarios.long_chains import LongChain
from ptenv.scenarios.situations import policy_platform, unavailable_in
from ptenv.tools_registry import Registry, ScenarioSpec


@dataclass
class Request:
    """A task observation, read: the scenario (None if not one of ptenv's), the clock, what the
    visibility mode shows of the user, the situation the query mentions, the platform it names,
    and the template it fills (None if no template fits). Agents update ``facts`` and ``history``
    with what they look up."""

    scenario: ScenarioSpec | None
    query: str
    now: str = DEFAULT_NOW
    hidden: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[str, str | None]] = field(default_factory=list)
    context: str | None = None
    #: The id of the platform the query names, if it names one.
    named: str | None = None
    template: Template | None = None
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The long chain (ptenv-v2: 3-4 calls) the request fills, when it fills no template.
    chain: LongChain | None = None
    #: Platforms (ids) the observation's notices say cannot be used (ptenv-v2).
    unavailable: frozenset[str] = frozenset()
    #: The platform (id) a shown policy requires for this request (ptenv-v2), if one does.
    required: str | None = None

    def profile_needs(self) -> list[str]:
        """The profile fields the request's calls need (empty when nothing fits)."""
        if self.chain is not None:
            return LongChainPlan(self.chain, self.texts, self.now, {}, "").profile_needs()
        return profile_needs(self.template, self.texts) if self.template is not None else []

    def plan(self, platform: str, facts: dict[str, Any]) -> LongChainPlan | None:
        """The calls of a long-chain request on ``platform``, one at a time (None: not one)."""
        return LongChainPlan(self.chain, self.texts, self.now, facts, platform) if self.chain is not None else None

    def history_platform(self) -> str | None:
        """The platform (id) the visible history says this user picks here (see :func:`history_platform`)."""
        return history_platform(self.scenario, self.context, self.history) if self.scenario is not None else None


def read_request(obs: dict[str, Any]) -> Request:
    """Read a ``type: "task"`` observation (as :func:`ptenv.parse_observation` gives it)."""
    scenario = Registry.default().scenarios.get(str(obs.get("scenario", "")))
    user = obs.get("user") or {}
    facts, history = _read_profile(user.get("profile") or "")
    req = Request(
        scenario=scenario,
        query=str(obs.get("query", "")),
        now=str(obs.get("now") or DEFAULT_NOW),
        hidden=user.get("visibility") == "hidden",
        facts=dict(facts),
        history=list(history),
    )
    if scenario is None:
        return req
    if obs.get("notices"):
        req.unavailable = unavailable_in(scenario, [str(n) for n in obs["notices"]])
    req.context, req.named, req.template, req.chain, texts = _read_query(req.query, scenario.id, req.now)
    req.texts = dict(texts)
    if obs.get("policies"):
        req.required = policy_platform(scenario, [str(p) for p in obs["policies"]], req.context)
    return req


# Both readings depend on their text only, and texts recur (a user's profile in each of their
# requests, a request in each epoch of training): each is read once. Callers get copies.
@lru_cache(maxsize=4096)
def _read_profile(profile: str) -> tuple[dict[str, Any], tuple[tuple[str, str | None], ...]]:
    return parse_facts(profile), tuple(parse_history(profile))


@lru_cache(maxsize=16384)
def _read_query(
    query: str, scenario: str, now: str
) -> tuple[str | None, str | None, Template | None, LongChain | None, tuple[tuple[tuple[str, str], str], ...]]:
    """(situation, named platform id, template, long chain, slot texts) of a request."""
    sc = Registry.default().scenarios[scenario]
    core, named, context = strip_query(query, sc)
    named_id = {p.name: p.id for p in sc.platforms}.get(named) if named else None
    match = match_request(core, scenario, now)
    if match is not None:
        return context, named_id, match[0], None, tuple(match[1].items())
    core, named_id, context = peel(query, sc)  # not a template as written: a v2 wording or long chain?
    varied = match_varied(core, scenario, now)
    if varied is not None:
        return context, named_id, varied[0], None, tuple(varied[1].items())
    long = match_long_chain(core, scenario, now)
    if long is not None:
        return context, named_id, None, long[0], tuple(long[1].items())
    return context, named_id, None, None, ()


def wording_stats(tasks: list[Any]) -> dict[str, float]:
    """How a dataset's requests are worded: the share written as a template is (no grammar), the
    share with a greeting or a thank-you, how many read as no request, and the mean number of
    distinct wordings per request kind (a template and its chain, slot values aside)."""
    registry = Registry.default()
    written = greeted = unread = 0
    wordings: dict[tuple[str, str, str], set[str]] = {}
    for t in tasks:
        sc = registry.scenarios[t.scenario]
        core, _ = strip_mention(t.query, sc)
        greeted += grammar.ungreet(core) != core
        _, _, tpl, chain, texts = _read_query(t.query, t.scenario, t.now)
        written += tpl is not None and tpl.read_slot is None  # a template as written (no wording's slot reader)
        if tpl is not None:
            key, wording = (t.scenario, tpl.first.key, tpl.then.key if tpl.then else ""), tpl.pattern
        elif chain is not None:  # a long chain's wording: its text with the slot texts taken out
            key, wording = (t.scenario, chain.id, ""), _without(peel(t.query, sc)[0], dict(texts))
        else:
            unread += 1
            continue
        wordings.setdefault(key, set()).add(wording)
    n = max(1, len(tasks))
    return {
        "as_written": round(written / n, 4),
        "greeted": round(greeted / n, 4),
        "unread": unread,
        "wordings_per_intent": round(sum(map(len, wordings.values())) / max(1, len(wordings)), 1),
    }


def _without(text: str, texts: dict[tuple[str, str], str]) -> str:
    for (key, _), said in texts.items():
        text = text.replace(said, "{" + key + "}", 1)
    return text
