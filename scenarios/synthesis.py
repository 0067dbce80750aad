"""Offline, deterministic task synthesis (the PTool recipe without an LLM).

For each user and scenario a fixed plan of task kinds is filled from the scenario's query
templates. Every random choice comes from a ``random.Random`` seeded with a string naming the
dataset seed, the user and the scenario (string seeds are hashed with SHA-512 by CPython, so the
stream is the same on every machine and run). Multi-call gold values that come from a previous
result are obtained by really executing the first call on the episode's backend.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ptenv.tools_registry import ApiSpec, Backend, ParamSpec, Registry, ScenarioSpec, template_slots
from ptenv.tools_registry.specs import ChainSpec

from .profiles import UserProfile, phrasing
from .tasks import ArgGold, Gold, GoldCall, Task

#: Tasks per user and scenario, by kind (18 per scenario, 90 per user).
KIND_PLAN: tuple[tuple[str, int], ...] = (
    ("tool_preference", 5),
    ("preference_and_profile", 4),
    ("profile_dependent", 3),
    ("explicit_platform", 2),
    ("multi_call", 4),
)
#: Share of queries that mention a situation (a context phrase).
CONTEXT_RATE = 0.5


class Infeasible(Exception):
    """This template cannot be filled for this user (e.g. their diet is not an allowed value)."""


@dataclass(frozen=True)
class _Pools:
    plain: tuple[tuple[ApiSpec, str], ...]
    profile: tuple[tuple[ApiSpec, str], ...]
    chains: tuple[tuple[ChainSpec, str], ...]


def _uses_profile(api: ApiSpec, template: str) -> bool:
    slotted = {k for k, _ in template_slots(template)}
    return any(p.profile and (p.required or p.key in slotted) for p in api.params)


def pools(sc: ScenarioSpec) -> _Pools:
    plain: list[tuple[ApiSpec, str]] = []
    prof: list[tuple[ApiSpec, str]] = []
    for api in sc.apis:
        for t in api.queries:
            (prof if _uses_profile(api, t) else plain).append((api, t))
    chains = tuple((ch, t) for ch in sc.chains for t in ch.queries)
    return _Pools(tuple(plain), tuple(prof), chains)


class _Filler:
    """Fills one template: chooses slot values, renders the text, records gold arguments."""

    def __init__(self, rng: random.Random, user: UserProfile, now: datetime, template: str):
        self.rng, self.user, self.now, self.template = rng, user, now, template
        self.slots = template_slots(template)
        self.slotted = {k for k, _ in self.slots}
        self.texts: dict[tuple[str, str], str] = {}
        self.chosen: dict[str, ArgGold] = {}

    def args_for(self, api: ApiSpec, tool_params: dict[str, str], fixed: dict[str, ArgGold]) -> dict[str, ArgGold]:
        out = self._args(api, tool_params, fixed)
        for p in api.params:
            other = next((q for q in api.params if q.key == p.differs_from), None)
            mine, theirs = out.get(tool_params[p.key]), out.get(tool_params[other.key]) if other else None
            if mine is not None and theirs is not None and mine.accepted[0] == theirs.accepted[0]:
                raise Infeasible(f"{api.key}.{p.key} must differ from {p.differs_from}")
        return out

    def _args(self, api: ApiSpec, tool_params: dict[str, str], fixed: dict[str, ArgGold]) -> dict[str, ArgGold]:
        out: dict[str, ArgGold] = {}
        for p in api.params:
            gold = fixed.get(p.key) or self.chosen.get(p.key) or self._choose(p)
            if gold is not None:
                self.chosen.setdefault(p.key, gold)
                out[tool_params[p.key]] = gold
            elif p.required:
                raise Infeasible(f"nothing fills required {api.key}.{p.key}")
        return out

    def _choose(self, p: ParamSpec) -> ArgGold | None:
        slotted = p.key in self.slotted
        forms = [f for k, f in self.slots if k == p.key]
        ph = phrasing()
        if p.values and (p.required or slotted):
            entry = self.rng.choice(p.values)
            self.texts[(p.key, "")] = str(entry[0]).replace("_", " ")
            return ArgGold(accepted=tuple(entry), source="query")
        if p.context and (p.required or slotted):
            if p.context == "date":
                phrase, days = self.rng.choice(ph["dates"])
                day = self.now + timedelta(days=days)
                if phrase == "@weekday":  # "Friday": the coming one, 3-6 days ahead, never ambiguous
                    phrase = day.strftime("%A")
                value = day.strftime("%Y-%m-%d")
            else:
                phrase, value = self.rng.choice(ph["times"])
            self.texts[(p.key, "")] = phrase
            return ArgGold(accepted=(value,), source="context")
        if p.profile and (p.required or slotted):
            field = self.rng.choice(p.profile)
            value = self.user.facts[field]
            if (p.enum and value not in p.enum) or value in (None, "", "none"):
                raise Infeasible(f"profile {field}={value!r} does not fit {p.key}")
            for form in forms or [""]:
                hints = ph["profile_hints"][field]["noun" if form else "to"]
                self.texts[(p.key, form)] = self.rng.choice(hints)
            return ArgGold(accepted=(value,), source="profile", profile_field=field)
        return None

    def render(self) -> str:
        text = self.template
        for (key, form), value in self.texts.items():
            text = text.replace("{" + key + (":" + form if form else "") + "}", value)
        return text


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def synthesize_user_tasks(registry: Registry, user: UserProfile, seed: int, start_index: int = 0) -> list[Task]:
    """All tasks of one user, scenario by scenario, following :data:`KIND_PLAN`."""
    tasks: list[Task] = []
    for sc in registry.scenarios.values():
        rng = random.Random(f"ptenv/{seed}/{user.user_id}/{sc.id}")
        pool = pools(sc)
        # Shuffled, so that a task's number says nothing about its kind.
        kinds = [kind for kind, count in KIND_PLAN for _ in range(count)]
        rng.shuffle(kinds)
        for n, kind in enumerate(kinds):
            tasks.append(_make_task(registry, sc, pool, user, kind, rng, f"{user.user_id}-{sc.id}-{n:02d}"))
    return tasks


def _make_task(registry: Registry, sc: ScenarioSpec, pool: _Pools, user: UserProfile, kind: str, rng: random.Random, task_id: str) -> Task:
    ph = phrasing()
    for _attempt in range(50):
        day = rng.randint(0, 27)
        now = datetime(2026, 3, 2, rng.randint(8, 20), 0) + timedelta(days=day)
        context = rng.choice(sc.contexts).id if rng.random() < CONTEXT_RATE else None
        preferred = user.preferred_platform(sc, context)
        if kind == "explicit_platform":
            platform = rng.choice([p.id for p in sc.platforms if p.id != preferred])
        elif kind == "profile_dependent":
            platform = rng.choice([p.id for p in sc.platforms])
        else:
            platform = preferred
        task_seed = rng.randrange(2**31)
        try:
            if kind == "multi_call":
                chain, template = rng.choice(pool.chains)
                query, calls = _fill_chain(registry, sc, chain, template, platform, user, now, rng, task_seed)
            else:
                api, template = rng.choice(pool.profile if kind in ("preference_and_profile", "profile_dependent") else pool.plain)
                filler = _Filler(rng, user, now, template)
                tool = registry.tool_for(sc.id, platform, api.key)
                args = filler.args_for(api, {p.key: tool.arg_name(p) for p in api.params}, {})
                query, calls = filler.render(), (GoldCall(tool=tool.name, api=tool.api, args=args),)
                backend = Backend(registry.world(sc.id), seed=task_seed, now=now.strftime("%Y-%m-%dT%H:%M"))
                ok, result = backend.call(tool, calls[0].canonical_args())
                if not ok:  # e.g. cancelling what the initial state has nothing of
                    raise Infeasible(result["error"]["message"])
                if result.get("count") == 0 and (api.op.model_extra or {}).get("entity"):
                    raise Infeasible("a gold catalogue search that finds nothing is a poor task")
        except Infeasible:
            continue
        query = _sentence(query)
        if context is not None:
            phrase = rng.choice(next(c for c in sc.contexts if c.id == context).phrases)
            query = f"{phrase} {query}" if rng.random() < 0.5 else f"{query} {phrase}"
        named = kind in ("explicit_platform", "profile_dependent")
        if named:
            mention = rng.choice(ph["platform_mentions"])
            query = mention.format(platform=sc.platform(platform).name, query=query)
        return Task(
            id=task_id,
            user_id=user.user_id,
            scenario=sc.id,
            kind=kind,
            query=query,
            context=context,
            now=now.strftime("%Y-%m-%dT%H:%M"),
            seed=task_seed,
            platform_named=named,
            gold=Gold(platform=platform, calls=calls),
        )
    raise RuntimeError(f"could not synthesize a {kind} task for {user.user_id} in {sc.id}")


def _fill_chain(
    registry: Registry,
    sc: ScenarioSpec,
    chain: ChainSpec,
    template: str,
    platform: str,
    user: UserProfile,
    now: datetime,
    rng: random.Random,
    task_seed: int,
) -> tuple[str, tuple[GoldCall, ...]]:
    filler = _Filler(rng, user, now, template)
    first, then = sc.api(chain.first), sc.api(chain.then)
    t1, t2 = registry.tool_for(sc.id, platform, first.key), registry.tool_for(sc.id, platform, then.key)
    fixed1 = {k: ArgGold(accepted=(v,), source="query") for k, v in chain.first_args.items()}
    args1 = filler.args_for(first, {p.key: t1.arg_name(p) for p in first.params}, fixed1)
    call1 = GoldCall(tool=t1.name, api=t1.api, args=args1)
    # The bound id is whatever the first call really returns on this task's backend.
    backend = Backend(registry.world(sc.id), seed=task_seed, now=now.strftime("%Y-%m-%dT%H:%M"))
    ok, result = backend.call(t1, call1.canonical_args())
    items: list[dict[str, Any]] = result.get("results") or [] if ok else []
    if not items:
        raise Infeasible(f"{first.key} finds nothing for {call1.canonical_args()}")
    fixed2 = {k: ArgGold(accepted=(items[0][field],), source="previous_result") for k, field in chain.bind.items()}
    args2 = filler.args_for(then, {p.key: t2.arg_name(p) for p in then.params}, fixed2)
    call2 = GoldCall(tool=t2.name, api=t2.api, args=args2)
    ok, result = backend.call(t2, call2.canonical_args())
    if not ok:
        raise Infeasible(result["error"]["message"])
    return filler.render(), (call1, call2)
