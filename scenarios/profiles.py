"""Simulated users: basic facts, per-scenario preferences over platform traits, behaviour history.

A preference is over *traits* (affordability, speed, quality …), not over platform names: the
platform a user picks is the one whose trait numbers score best under the user's weights, in the
situation (context) the query describes. Preferences are either stated in the profile (explicit)
or only visible in the behaviour history (implicit).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict

from ptenv.tools_registry import PROFILE_FIELDS, Registry, ScenarioSpec


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioPreference(_Model):
    """How a user chooses among a scenario's platforms."""

    scenario: str
    #: Trait weights in the default situation (sum to 1).
    weights: dict[str, float]
    #: Context id -> the trait that dominates in that situation.
    rules: dict[str, str]
    #: Whether the default preference is stated in the profile (else only implicit in history).
    explicit: bool
    #: Context ids whose rule is stated in the profile.
    explicit_rules: tuple[str, ...]

    @property
    def default_trait(self) -> str:
        return max(self.weights, key=lambda t: self.weights[t])

    def weights_in(self, context: str | None) -> dict[str, float]:
        trait = self.rules.get(context) if context else None
        if trait is None:
            return self.weights
        # In a ruled context the rule's trait dominates; the rest keep their relative order.
        return trait_first(trait, self.weights)


def trait_first(trait: str, traits: Iterable[str]) -> dict[str, float]:
    """The weights of someone who puts ``trait`` first (0.7) and the others level (0.15 each)."""
    return {t: (0.7 if t == trait else 0.15) for t in traits}


class HistoryEvent(_Model):
    """One past interaction: which platform the user used for what, in which situation."""

    date: str
    scenario: str
    platform: str
    api: str
    context: str | None = None


class UserProfile(_Model):
    user_id: str
    #: Basic facts, one value per field of ``PROFILE_FIELDS``.
    facts: dict[str, Any]
    preferences: dict[str, ScenarioPreference]
    history: tuple[HistoryEvent, ...]

    def preferred_platform(self, scenario: ScenarioSpec, context: str | None = None) -> str:
        """The platform this user picks in ``scenario`` in the given situation."""
        return choose_platform(scenario, self.preferences[scenario.id].weights_in(context))

    def render(
        self, registry: Registry, scenarios: list[str] | None = None, facts: bool = True, statements: bool = True, history: bool = True
    ) -> str:
        """The profile as text an LLM reads (PTBench's ``user_profile`` block): facts, stated
        preferences, history, as a visibility mode asks. A dataset version's users may render
        differently (ptenv-v2's: :class:`~ptenv.scenarios.evidence.EvidenceUser`)."""
        return _render_v1(self, registry, scenarios, facts, statements, history)


def choose_platform(scenario: ScenarioSpec, weights: dict[str, float]) -> str:
    best = max(scenario.platforms, key=lambda p: sum(w * p.traits[t] for t, w in weights.items()))
    return best.id


@cache
def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath(f"data/{name}.json").read_text(encoding="utf-8"))
    return data


def people() -> dict[str, Any]:
    return _data("people")


def phrasing() -> dict[str, Any]:
    return _data("phrasing")


def make_facts(rng: random.Random, index: int) -> dict[str, Any]:
    """Basic facts for user ``index`` (unique phone, email and passport by construction)."""
    ppl = people()
    first, last = rng.choice(ppl["first_names"]), rng.choice(ppl["last_names"])
    city = rng.choice(PROFILE_FIELDS["city"] or ())
    company = rng.choice(ppl["companies"])
    home_street, work_street = rng.sample(ppl["streets"], 2)
    slug = "".join(ch for ch in company.lower() if ch.isalnum())
    diet = rng.choices(["none", "vegetarian", "vegan", "halal", "gluten_free"], weights=[4, 2, 1, 1, 1])[0]
    facts = {
        "full_name": f"{first} {last}",
        "age": rng.randint(19, 72),
        "occupation": rng.choice(ppl["occupations"]),
        "company": company,
        "city": city,
        "home_address": f"{rng.randint(2, 198)} {home_street}, {city}",
        "work_address": f"{rng.randint(200, 980)} {work_street}, {city}",
        "phone": f"555-{index:04d}-{rng.randint(1000, 9999)}",
        "email": f"{first.lower()}.{last.lower()}{index}@{rng.choice(ppl['email_domains'])}",
        "work_email": f"{first[0].lower()}.{last.lower()}{index}@{slug}.example",
        "payment_method": rng.choice(PROFILE_FIELDS["payment_method"] or ()),
        "diet": diet,
        "clothing_size": rng.choice(PROFILE_FIELDS["clothing_size"] or ()),
        "shoe_size": rng.randint(36, 46),
        "seat_preference": rng.choice(PROFILE_FIELDS["seat_preference"] or ()),
        "passport_number": f"{rng.choice('KLMNPRTX')}{index:03d}{rng.randint(1000, 9999)}",
        "language": rng.choice(PROFILE_FIELDS["language"] or ()),
    }
    assert set(facts) == set(PROFILE_FIELDS)
    return facts


def make_preference(rng: random.Random, scenario: ScenarioSpec, default_trait: str) -> ScenarioPreference:
    """Weights dominated by ``default_trait``; rules for two of the four contexts.

    Each rule's trait is drawn uniformly from the two *other* traits, so that across users a
    context mentioned in a query says nothing about which platform wins (no prior to exploit).
    """
    traits = list(scenario.traits)
    top = rng.uniform(0.6, 0.8)
    rest = [t for t in traits if t != default_trait]
    split = rng.uniform(0.3, 0.7)
    weights = {default_trait: round(top, 3), rest[0]: round((1 - top) * split, 3), rest[1]: round((1 - top) * (1 - split), 3)}
    ruled = rng.sample([c.id for c in scenario.contexts], 2)
    rules = {c: rng.choice(rest) for c in sorted(ruled)}
    explicit_rules = tuple(c for c in sorted(ruled) if rng.random() < 0.5)
    return ScenarioPreference(
        scenario=scenario.id, weights=weights, rules=rules, explicit=rng.random() < 0.5, explicit_rules=explicit_rules
    )


def make_history(rng: random.Random, registry: Registry, prefs: dict[str, ScenarioPreference]) -> tuple[HistoryEvent, ...]:
    """Past behaviour consistent with the preferences: 4 default-situation uses per scenario and
    2 per context rule, dated before any task (January-February 2026)."""
    events = []
    for sid, pref in prefs.items():
        sc = registry.scenarios[sid]
        apis = [a.key for a in sc.apis if a.queries]
        situations: list[str | None] = [None] * 4 + [c for c in pref.rules for _ in range(2)]
        for ctx in situations:
            platform = choose_platform(sc, pref.weights_in(ctx))
            day = rng.randint(1, 59)
            date = f"2026-{1 + (day - 1) // 31:02d}-{(day - 1) % 31 + 1:02d}" if day <= 31 else f"2026-02-{day - 31:02d}"
            events.append(HistoryEvent(date=date, scenario=sid, platform=platform, api=rng.choice(apis), context=ctx))
    events.sort(key=lambda e: (e.date, e.scenario, e.platform, e.api))
    return tuple(events)


def render_profile(
    user: UserProfile,
    registry: Registry,
    scenarios: list[str] | None = None,
    facts: bool = True,
    statements: bool = True,
    history: bool = True,
) -> str:
    """The profile as text an LLM reads (PTBench's ``user_profile`` block): :meth:`UserProfile.render`."""
    return user.render(registry, scenarios, facts, statements, history)


def _render_v1(user: UserProfile, registry: Registry, scenarios: list[str] | None, facts: bool, statements: bool, history: bool) -> str:
    wanted = scenarios or list(user.preferences)
    said = [s for i, sid in enumerate(wanted) if (s := _statement(user, registry.scenarios[sid], i))] if statements else []
    return compose_profile(user, registry, wanted, facts, said, history)


def compose_profile(user: UserProfile, registry: Registry, wanted: list[str], facts: bool, said: list[str], history: bool) -> str:
    """The profile text every dataset version shares: the facts, the stated preferences given
    (``said``), the history of the ``wanted`` scenarios. A past use with a ``note`` (ptenv-v2:
    one that was not the user's own choice) shows it after its action."""
    lines: list[str] = []
    if facts:
        lines.append("Basic information:")
        lines.extend(f"- {k}: {v}" for k, v in user.facts.items())
    if said:
        lines.append("Stated preferences:")
        lines.extend(f"- {s}" for s in said)
    if history:
        lines.append("Past behaviour (date, scenario, platform, action, situation):")
        for e in user.history:
            if e.scenario in wanted:
                sc = registry.scenarios[e.scenario]
                note = getattr(e, "note", None)
                action = f"{e.api} ({note})" if note else e.api
                situation = _context_phrase(sc, e.context) if e.context else "-"
                lines.append(f"- {e.date} | {e.scenario} | {sc.platform(e.platform).name} | {action} | {situation}")
    return "\n".join(lines)


def _context_phrase(sc: ScenarioSpec, context: str) -> str:
    return next(c.phrases[0] for c in sc.contexts if c.id == context)


def _statement(user: UserProfile, sc: ScenarioSpec, salt: int) -> str:
    pref = user.preferences[sc.id]
    ph = phrasing()
    # Template choice is a pure function of the user and scenario, so text is reproducible.
    pick = sum(map(ord, user.user_id)) + salt
    parts = []
    if pref.explicit:
        tpl = ph["preference_statements"][pick % len(ph["preference_statements"])]
        parts.append(tpl.format(scenario=sc.name.lower(), trait=sc.traits[pref.default_trait]))
    for i, ctx in enumerate(pref.explicit_rules):
        tpl = ph["rule_statements"][(pick + i) % len(ph["rule_statements"])]
        parts.append(tpl.format(context=_context_phrase(sc, ctx), trait=sc.traits[pref.rules[ctx]]))
    if parts and not pref.explicit:
        parts.insert(0, f"({sc.name})")
    return " ".join(parts)
