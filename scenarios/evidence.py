"""ptenv-v2's users: preferences shown by noisy, drifting evidence, stated in free text.

In ptenv-v1 a user's history is complete and consistent and their stated preferences come from a
few fixed templates, so counting past platform uses in the same situation is a perfect rule. Here
each user and scenario has one **evidence kind** (:data:`EVIDENCE_KINDS`):

* ``clean``: as in v1 (3-4 uses of the preferred platform, 2 per situation rule);
* ``noisy``: as clean, plus 1-2 uses of other platforms that say nothing of the preference and
  say so in the history (``place_order (for a colleague)``, a coupon, a friend's account): a
  minority overall, but enough to tie a situation's count;
* ``drift``: the default changed on a date: 3-4 older uses of the old platform, then 2 of the new
  one (recent behaviour outweighs old: the latest two uses agree);
* ``stated_switch``: the history shows only the old habit, and the profile's statement says the
  user switched (or names what they care about now): the statement wins;
* ``short``: one use by default and one per rule;
* ``unknown``: nothing at all in this scenario (a new one for the user): no visible source
  decides, and the right move is to ask (``ask_user`` is offered in every visibility mode on v2);
  guessing scores at chance.

Stated preferences are free-text sentences (``data/evidence.json``: several phrasings of each
trait, of each situation, and of a switch), each naming its scenario; the profile also states one
other scenario's habit, which says nothing of this one. Every sentence and note comes from the
published banks, so what a careful reader concludes is defined: :func:`decide` is that reader,
and generation keeps only evidence it decides correctly in the ``profile`` view (and, except for
``stated_switch``, in the ``history`` view too). It reads the rendered text only, never the
preference behind it.
"""

from __future__ import annotations

import json
import random
import re
from functools import cache
from importlib import resources
from typing import Any, Literal

from ptenv.tools_registry import Registry, ScenarioSpec

from .profiles import HistoryEvent, ScenarioPreference, UserProfile, choose_platform, compose_profile, make_preference, trait_first
from .tasks import Policy

EvidenceKind = Literal["clean", "noisy", "drift", "stated_switch", "short", "unknown"]
EVIDENCE_KINDS: tuple[str, ...] = ("clean", "noisy", "drift", "stated_switch", "short", "unknown")
_KIND_WEIGHTS = (19, 23, 23, 14, 13, 8)
_TRANSACTION = re.compile(r"^(place_order|schedule_order|order_|book_|buy_|rent_)")


class NotedEvent(HistoryEvent):
    """A past use; ``note`` says when it does not reflect the user's own preference."""

    note: str | None = None


class EvidencePreference(ScenarioPreference):
    evidence: EvidenceKind
    #: The date the default changed (``drift``, ``stated_switch``) and the trait that led before.
    changed: str | None = None
    before: str | None = None
    #: The free-text sentences the profile states about this scenario.
    statements: tuple[str, ...] = ()


class EvidenceUser(UserProfile):
    preferences: dict[str, EvidencePreference]  # type: ignore[assignment]
    history: tuple[NotedEvent, ...]
    #: Their employer's rules, by scenario (:func:`ptenv.scenarios.situations.draw_policies`).
    policies: dict[str, Policy] = {}

    def render(
        self, registry: Registry, scenarios: list[str] | None = None, facts: bool = True, statements: bool = True, history: bool = True
    ) -> str:
        """The profile text: facts, the scenarios' statements and one other scenario's (which does
        not transfer), the history with its notes."""
        wanted = scenarios or list(self.preferences)
        said: list[str] = []
        if statements:
            order = list(self.preferences)
            shown = [*wanted, order[(order.index(wanted[-1]) + 1) % len(order)]] if len(wanted) == 1 else wanted
            said = [s for sid in dict.fromkeys(shown) for s in self.preferences[sid].statements]
        return compose_profile(self, registry, wanted, facts, said, history)


@cache
def banks() -> dict[str, Any]:
    """The published phrase banks (``data/evidence.json``)."""
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("data/evidence.json").read_text(encoding="utf-8"))
    return data


def trait_platform(sc: ScenarioSpec, trait: str) -> str:
    """The platform a user who puts ``trait`` first picks."""
    return choose_platform(sc, trait_first(trait, sc.traits))


def _date(day: int) -> str:
    return f"2026-01-{day:02d}" if day <= 31 else f"2026-02-{day - 31:02d}"


# -- making a user's evidence ------------------------------------------------------------------
def make_evidence(
    rng: random.Random, registry: Registry, sc: ScenarioSpec, default_trait: str
) -> tuple[EvidencePreference, list[NotedEvent]]:
    """One scenario's preference and its history, of a kind drawn with ``rng``, that
    :func:`decide` reads correctly (drawn again until it does)."""
    for _ in range(50):
        pref, events = _draw(rng, sc, default_trait)
        user = EvidenceUser(user_id="check", facts={}, preferences={sc.id: pref}, history=tuple(events))
        profile, plain = (user.render(registry, [sc.id], facts=False, statements=s) for s in (True, False))
        wanted = {c: user.preferred_platform(sc, c) for c in (None, *(c.id for c in sc.contexts))}
        if pref.evidence == "unknown":  # undecidable on purpose: nothing may decide it
            if all(decide(profile, sc, c) is None for c in wanted):
                return pref, events
            continue
        if all(decide(profile, sc, c) == p for c, p in wanted.items()) and (
            pref.evidence == "stated_switch" or all(decide(plain, sc, c) == p for c, p in wanted.items())
        ):
            return pref, events
    raise RuntimeError(f"no decidable evidence for {sc.id}")  # the construction guarantees one


def make_evidence_user(rng: random.Random, registry: Registry, user_id: str, facts: dict[str, Any], traits: dict[str, str]) -> EvidenceUser:
    """A ptenv-v2 user: in each scenario, evidence of a kind drawn with ``rng`` for the default
    trait ``traits[scenario]``."""
    prefs, events = {}, []
    for sid, trait in traits.items():
        prefs[sid], ev = make_evidence(rng, registry, registry.scenarios[sid], trait)
        events += ev
    events.sort(key=lambda e: (e.date, e.scenario, e.platform, e.api, e.context or "", e.note or ""))
    return EvidenceUser(user_id=user_id, facts=facts, preferences=prefs, history=tuple(events))


def _draw(rng: random.Random, sc: ScenarioSpec, default_trait: str) -> tuple[EvidencePreference, list[NotedEvent]]:
    base = make_preference(rng, sc, default_trait)
    kind: EvidenceKind = rng.choices(EVIDENCE_KINDS, weights=_KIND_WEIGHTS)[0]  # type: ignore[assignment]
    before = rng.choice([t for t in sc.traits if t != default_trait]) if kind in ("drift", "stated_switch") else None
    switch_day = rng.randint(30, 45) if before else None
    current = choose_platform(sc, base.weights)
    apis = [a.key for a in sc.apis if a.queries]
    # a use that was not the user's own choice is an order, a booking, a purchase (the notes say
    # for whom or why): the transactions the scenario's chains end with
    writes = sorted({c.then for c in sc.chains if _TRANSACTION.search(c.then)}) or apis
    platforms = [p.id for p in sc.platforms]
    notes = banks()["notes"]
    events: list[NotedEvent] = []

    def use(platform: str, lo: int, hi: int, context: str | None = None, note: str | None = None) -> None:
        day = rng.randint(lo, hi)
        api = rng.choice(writes if note else apis)
        events.append(NotedEvent(date=_date(day), scenario=sc.id, platform=platform, api=api, context=context, note=note))

    if kind == "drift" and before and switch_day:
        for _ in range(rng.randint(3, 4)):
            use(trait_platform(sc, before), 1, switch_day - 1)
        for _ in range(2):
            use(current, switch_day + 1, 59)
    elif kind == "stated_switch" and before:
        for _ in range(rng.randint(3, 4)):
            use(trait_platform(sc, before), 1, 59)
    elif kind != "unknown":
        for _ in range(1 if kind == "short" else rng.randint(3, 4)):
            use(current, 1, 59)
    for context, trait in base.rules.items() if kind != "unknown" else ():
        ruled = trait_platform(sc, trait)
        for _ in range(1 if kind == "short" else 2):
            use(ruled, 1, 59, context)
        if kind == "noisy":  # a use in that situation that was not the user's own choice
            use(rng.choice([p for p in platforms if p != ruled]), 1, 59, context, rng.choice(notes))
    if kind == "noisy":
        use(rng.choice([p for p in platforms if p != current]), 1, 59, None, rng.choice(notes))
    events.sort(key=lambda e: (e.date, e.platform, e.api, e.context or "", e.note or ""))
    explicit = (base.explicit or kind == "stated_switch") and kind != "unknown"
    rules_said = base.explicit_rules if kind != "unknown" else ()
    pref = EvidencePreference(
        **{**base.model_dump(), "explicit": explicit, "explicit_rules": rules_said},
        evidence=kind,
        changed=_date(switch_day) if switch_day else None,
        before=before,
        statements=_statements(rng, sc, base.weights, base.rules, explicit, rules_said, before if kind == "stated_switch" else None),
    )
    return pref, events


def _statements(
    rng: random.Random,
    sc: ScenarioSpec,
    weights: dict[str, float],
    rules: dict[str, str],
    default: bool,
    stated_rules: tuple[str, ...],
    switched_from: str | None,
) -> tuple[str, ...]:
    b = banks()
    name = sc.name.lower()

    def trait(t: str) -> str:
        return str(rng.choice(b["traits"][t]))

    def situation(c: str) -> str:
        return str(rng.choice(b["situations"][sc.id][c]))

    top = max(weights, key=lambda t: weights[t])
    out: list[str] = []
    rest = list(stated_rules)
    if switched_from is not None and rng.random() < 0.5:  # the switch itself, naming both platforms
        old, new = sc.platform(trait_platform(sc, switched_from)).name, sc.platform(trait_platform(sc, top)).name
        out.append(rng.choice(b["switch_frames"]).format(scenario=name, old=old, new=new))
        default = False
    if default and rest:
        c = rest.pop(0)
        frame = rng.choice(b["default_and_exception_frames"])
        out.append(frame.format(scenario=name, trait=trait(top), situation=situation(c), exception=trait(rules[c])))
    elif default:
        out.append(rng.choice(b["default_frames"]).format(scenario=name, trait=trait(top)))
    for c in rest:
        out.append(rng.choice(b["exception_frames"]).format(scenario=name, situation=situation(c), exception=trait(rules[c])))
    return tuple(s[:1].upper() + s[1:] for s in out)


def evidence_shares(users: list[EvidenceUser], tasks: list[tuple[str, str, bool]]) -> dict[str, float]:
    """Shares of tasks (given as (user id, scenario, whether the platform is the user's to
    choose)) whose user shows each difficulty in that scenario: noise, drift (a changed default,
    shown or only stated), free-text statements, asking first (a request no visible source
    decides), and each evidence kind."""
    prefs = {u.user_id: u.preferences for u in users}
    n = max(1, len(tasks))

    def share(test: Any) -> float:
        return round(sum(bool(test(prefs[uid][sid], choose)) for uid, sid, choose in tasks) / n, 4)

    out = {
        "noise": share(lambda p, _: p.evidence == "noisy"),
        "drift": share(lambda p, _: p.evidence in ("drift", "stated_switch")),
        "free_text_preferences": share(lambda p, _: p.statements),
        "ask_first": share(lambda p, choose: choose and p.evidence == "unknown"),
    }
    return out | {f"evidence_{k}": share(lambda p, _, k=k: p.evidence == k) for k in EVIDENCE_KINDS}


# -- reading it: the careful reader --------------------------------------------------------------
_LINE = re.compile(r"^- (\d{4}-\d{2}-\d{2}) \| ([^|]+) \| ([^|]+) \| ([^|(]+)(\([^)]*\))? \| (.+)$")


def _find(text: str, phrases: dict[str, list[str]]) -> list[tuple[int, str]]:
    """(position, key) of every phrase of the bank found in ``text`` (lower-cased)."""
    return sorted((i, key) for key, forms in phrases.items() for f in forms if (i := text.find(f.lower())) >= 0)


def _about(sentence: str) -> str | None:
    """The scenario a statement is about: every frame names it before any situation (whose words
    may name another scenario: "when it's for work")."""
    found = [(m.start(), s) for s in banks()["situations"] if (m := re.search(rf"\b{s}\b", sentence))]
    return min(found)[1] if found else None


def decide(profile: str, sc: ScenarioSpec, context: str | None) -> str | None:
    """The platform (id) the visible profile says this user wants in ``sc``, in ``context``
    (None: no situation); None when nothing visible decides it.

    Statements about ``sc`` come first: a switch names the platform used now (the later of the
    two named); a trait before any situation is the default, a trait after a situation is that
    situation's. Then the history of ``sc``, leaving out uses with a note: the latest use in the
    same situation; by default the latest use, when the latest two agree (else the most used)."""
    b = banks()
    names = {p.name.lower(): p.id for p in sc.platforms}
    stated: dict[str | None, str] = {}
    section = ""
    uses: list[tuple[str, str, str | None]] = []  # (date, platform id, situation)
    phrase_of = {c.phrases[0]: c.id for c in sc.contexts}
    for line in profile.splitlines():
        if not line.startswith("- "):
            section = line
            continue
        if section.startswith("Stated preferences"):
            text = line[2:].lower()
            if _about(text) != sc.name.lower():
                continue
            named = sorted((i, pid) for n, pid in names.items() if (i := text.find(n)) >= 0)
            if len(named) == 2:
                stated[None] = named[-1][1]
                continue
            where = _find(text, b["situations"][sc.id])
            for i, t in _find(text, b["traits"]):
                owner = next((c for j, c in reversed(where) if j < i), None)
                stated.setdefault(owner, trait_platform(sc, t))
        elif section.startswith("Past behaviour"):
            m = _LINE.match(line)
            if m and m.group(2).strip() == sc.id and not m.group(5):
                situation = m.group(6).strip()
                uses.append((m.group(1), names.get(m.group(3).strip().lower(), ""), None if situation == "-" else phrase_of.get(situation)))
    if context is not None:
        if context in stated:
            return stated[context]
        same = sorted(u for u in uses if u[2] == context)
        if same:
            return same[-1][1]
    if None in stated:
        return stated[None]
    plain = sorted(u for u in uses if u[2] is None)
    if not plain:
        return None
    if len(plain) == 1 or plain[-1][1] == plain[-2][1]:
        return plain[-1][1]
    counts: dict[str, int] = {}
    for _, p, _ in plain:
        counts[p] = counts.get(p, 0) + 1
    return max(counts, key=lambda p: counts[p])
