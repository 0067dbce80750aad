"""ptenv-v2's situations: what the world says before a request, and what it changes.

Three kinds, each shown to the agent (``notices`` and ``policies`` in the observation) and each
with one published reading: a **notice** that a platform cannot be used (below); an
**employer's rule** (:func:`draw_policies`, :func:`policy_platform`) that work spending in one
situation goes through one platform, whatever the user would pick; a **platforms' rule**
(:func:`guardian_rule`, :func:`must_decline`) under which a teenager's purchase of $50 or more is
declined rather than made.

Some v2 tasks open with a **notice** (:class:`~ptenv.scenarios.tasks.Notice`): a platform is down
(an outage or a maintenance window), has stopped for the weather, is closed at this hour, or does
not operate where the user is travelling. The notice is shown to the agent and the environment
holds to it: every call to that platform fails with an ``unavailable`` error for the request.

What it changes is decided by one published rule (:func:`fallback`): when the platform this user
would pick is the one that cannot be used, they want the available platform that is best at what
they put first *in this situation* (the trait whose platform they pick; the platforms' trait
scores are public, and their summaries say the same order in words: the budget option is slow and
plain, the fast one has average prices and ordinary service). When the notice names another
platform it changes nothing: it is there to be read, not obeyed blindly. So a task with a notice
is decidable exactly when its preference is (see :mod:`ptenv.scenarios.evidence`).

**No prior to exploit.** Which platform a notice names is drawn so that the notice says nothing
of the answer to someone who does not know the user: given the platform named, the gold is either
of the two others with probability 1/2 each (:func:`draw_target`: a notice names the user's own
choice a quarter of the time, and the other platforms with weights that balance what the
fallback rule would otherwise give away). Generation never puts a notice on a platform the
request names. A user asked which app they would use answers with their choice under the notice.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from ptenv.tools_registry import Registry, ScenarioSpec

from .evidence import EvidenceUser, evidence_shares, trait_platform
from .tasks import PREFERENCE_KINDS, Notice, Policy, Task

#: Share of v2 tasks that open with a notice.
NOTICE_RATE = 0.4
#: Share of v2 users who are teenagers (the guardian rule covers their large purchases).
MINOR_RATE = 0.15


@cache
def bank() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("data/situations.json").read_text(encoding="utf-8"))
    return data


def trait_of(sc: ScenarioSpec, platform: str) -> str:
    """The trait whose first place makes a user pick ``platform`` (each trait leads to its own
    platform: the budget one, the fast one, the premium one)."""
    return next(t for t in sc.traits if trait_platform(sc, t) == platform)


def fallback(sc: ScenarioSpec, wanted: str, unavailable: set[str] | frozenset[str]) -> str:
    """The platform a user who would pick ``wanted`` picks when the ``unavailable`` ones cannot be
    used: ``wanted`` if it can be, else the available one best at the trait that leads to
    ``wanted`` (ties: the registry's order)."""
    if wanted not in unavailable:
        return wanted
    trait = trait_of(sc, wanted)
    left = [p for p in sc.platforms if p.id not in unavailable]
    return max(left, key=lambda p: p.traits[trait]).id


def _roles(sc: ScenarioSpec) -> tuple[str, str, str]:
    """The platforms as the fallback rule links them: ``hub``, the fallback of the two others;
    ``up``, the hub's fallback; ``low``, the third (in every shipped scenario: the fast platform,
    the premium one, the budget one)."""
    back = {p.id: fallback(sc, p.id, {p.id}) for p in sc.platforms}
    hub = next(p for p in back if sum(v == p for v in back.values()) == 2)
    up = back[hub]
    low = next(p for p in back if p not in (hub, up))
    if back[low] != hub or back[up] != hub:
        raise ValueError(f"{sc.id}: the platforms' trait scores do not give the fallback shape notices are balanced for")
    return hub, up, low


#: (weights of the notice naming low, hub, up) by the user's own choice: solves "given the platform
#: a notice names, each of the two others is the answer with probability 1/2" (module docstring).
_TARGET_WEIGHTS = {"low": (1, 1, 2), "hub": (2, 1, 1), "up": (3, 0, 1)}


def draw_target(rng: random.Random, sc: ScenarioSpec, wanted: str) -> str:
    """The platform a notice names, for a user who would pick ``wanted`` (see the docstring)."""
    hub, up, low = _roles(sc)
    role = {low: "low", hub: "hub", up: "up"}[wanted]
    return rng.choices((low, hub, up), weights=_TARGET_WEIGHTS[role])[0]


def draw_policies(rng: random.Random, registry: Registry) -> dict[str, Policy]:
    """A ptenv-v2 user's employer rules: for each scenario with one (``data/situations.json``), a
    rule naming a platform drawn uniformly, with probability ``rate``. The texts never name the
    employer: they are shown in every visibility mode, and the company is a profile fact."""
    bank_ = bank()["policies"]
    out = {}
    for sid, spec in bank_["scenarios"].items():
        if rng.random() < bank_["rate"]:
            sc = registry.scenarios[sid]
            platform = rng.choice(sc.platforms)
            text = rng.choice(spec["texts"]).format(platform=platform.name)
            out[sid] = Policy(scenario=sid, context=spec["context"], platform=platform.id, text=text)
    return out


def employer_rule(user: Any, scenario: str) -> Policy | None:
    """The user's employer's rule in ``scenario`` (ptenv-v2's users may have one; ptenv-v1's
    never do)."""
    rule: Policy | None = getattr(user, "policies", {}).get(scenario)
    return rule


def policy_platform(sc: ScenarioSpec, texts: list[str] | tuple[str, ...], context: str | None) -> str | None:
    """The platform (id) shown policies require for a request in ``context`` (None: none applies).
    Each scenario's rule is about one published situation; its text names one platform."""
    spec = bank()["policies"]["scenarios"].get(sc.id)
    if spec is None or context != spec["context"]:
        return None
    named = [p.id for p in sc.platforms for text in texts if p.name in text]
    return named[0] if len(named) == 1 else None


def guardian_rule() -> dict[str, Any]:
    """The platforms' guardian-consent rule (``data/situations.json``): its scenario, the API and
    amount parameter it covers, the age and amount limits, and its text."""
    rule: dict[str, Any] = bank()["rules"]["guardian_consent"]
    return rule


def rules_shown(scenario: str) -> list[str]:
    """The texts of the platform rules shown on a ptenv-v2 request in ``scenario``."""
    rule = guardian_rule()
    return [rule["text"]] if rule["scenario"] == scenario else []


def must_decline(scenario: str, api: str, args: dict[str, Any], age: Any) -> bool:
    """Whether the guardian rule forbids this call for a user of this ``age``."""
    rule = guardian_rule()
    if scenario != rule["scenario"] or api != rule["api"]:
        return False
    amount = args.get(rule["param"])
    return isinstance(amount, int) and amount >= rule["limit"] and int(age) < rule["min_age"]


def unavailable_in(sc: ScenarioSpec, texts: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The platforms (ids) that notices, as shown, say cannot be used (each names one)."""
    return frozenset(p.id for p in sc.platforms for text in texts if p.name in text)


def split_said(sc: ScenarioSpec, query: str) -> tuple[list[str], list[str], str]:
    """(notices, employer's rules, the request) of a request in PTBench's one-shot form, where
    the notices and the rule go before it (:func:`ptenv.scenarios.dataset.ptbench_query`): the
    inverse of that joining, by the published texts; a query without them comes back whole."""
    notices: list[str] = []
    rules: list[str] = []
    rest = query
    notice_re, rule_re = _said_patterns(sc.id)
    while True:
        if (m := notice_re.match(rest)) is not None:
            notices.append(m.group(0).strip())
        elif rule_re is not None and (m := rule_re.match(rest)) is not None:
            rules.append(m.group(0).strip())
        else:
            return notices, rules, rest
        rest = rest[m.end() :]


@cache
def _said_patterns(scenario: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """Regexes of the scenario's notice texts and of its employer's rules, each followed by space."""
    b = bank()
    sc = Registry.default().scenarios[scenario]
    slots = {
        "platform": "|".join(re.escape(p.name) for p in sc.platforms),
        "until": r"\d{2}:\d{2}",
        "city": "|".join(re.escape(c) for c in b["cities_abroad"]),
    }

    def compiled(texts: list[str]) -> re.Pattern[str]:
        alts = [re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?:{slots[m.group(1)]})", re.escape(t)) for t in texts]
        return re.compile(f"(?:{'|'.join(alts)})\\s+")

    spec = b["policies"]["scenarios"].get(scenario)
    return compiled([t for kind in sorted(b["kinds"]) for t in b["kinds"][kind]]), compiled(spec["texts"]) if spec else None


def draw_notice(rng: random.Random, sc: ScenarioSpec, now: datetime, target: str) -> Notice:
    """A notice, of a kind drawn with ``rng``, that ``target`` (a platform id) cannot be used."""
    b = bank()
    # "closed at this hour" only in the evening (the clocks run 08:00-20:00)
    kind = rng.choice([k for k in sorted(b["kinds"]) if k != "time_of_day" or now.hour >= 19])
    text = rng.choice(b["kinds"][kind])
    until = (now + timedelta(hours=rng.randint(2, 5))).strftime("%H:00")
    name = sc.platform(target).name
    return Notice(kind=kind, platform=target, text=text.format(platform=name, until=until, city=rng.choice(b["cities_abroad"])))


def difficulty_shares(users: dict[str, Any], tasks: list[Task], registry: Registry) -> dict[str, float]:
    """ptenv-v2's difficulty, as shares of tasks: the evidence kinds (:func:`evidence_shares`;
    asking first only where no policy decides), notices (and those that change the platform),
    policies shown (and those that decide the platform)."""
    n = max(1, len(tasks))

    def rule(t: Task) -> Policy | None:
        return employer_rule(users[t.user_id], t.scenario)

    ruled = [t for t in tasks if (p := rule(t)) is not None and p.context == t.context]
    ruled_ids = {t.id for t in ruled}
    evidence = [u for u in users.values() if isinstance(u, EvidenceUser)]
    out = evidence_shares(evidence, [(t.user_id, t.scenario, t.kind in PREFERENCE_KINDS and t.id not in ruled_ids) for t in tasks])
    noticed = [t for t in tasks if t.notices]
    moved = [
        t
        for t in noticed
        if t.kind in PREFERENCE_KINDS and t.gold.platform != users[t.user_id].preferred_platform(registry.scenarios[t.scenario], t.context)
    ]
    return out | {
        "notice": round(len(noticed) / n, 4),
        "notice_changes_platform": round(len(moved) / n, 4),
        "policy_shown": round(sum(rule(t) is not None for t in tasks) / n, 4),
        "policy_decides": round(sum(t.kind in PREFERENCE_KINDS for t in ruled) / n, 4),
        "refusal": round(sum(t.gold.decline for t in tasks) / n, 4),
    }
