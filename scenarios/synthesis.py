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

from ptenv.tools_registry import ApiSpec, Registry, ScenarioSpec, template_slots
from ptenv.tools_registry.specs import ChainSpec

from . import grammar
from .filler import Draw, Infeasible
from .long_chains import fill_long_chain, long_chains
from .preference_args import preference_args
from .profiles import UserProfile, phrasing
from .situations import NOTICE_RATE, draw_notice, draw_target, employer_rule, fallback, guardian_rule, must_decline
from .tasks import PREFERENCE_KINDS, ArgGold, Gold, GoldCall, Notice, Task

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
#: ptenv-v2: share of multi-call tasks that are long chains (3-4 calls, :mod:`.long_chains`).
LONG_CHAIN_SHARE = 0.5


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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def synthesize_user_tasks(registry: Registry, user: UserProfile, seed: int, start_index: int = 0, varied: bool = False) -> list[Task]:
    """All tasks of one user, scenario by scenario, following :data:`KIND_PLAN`; ``varied``
    (ptenv-v2): requests worded by the request grammar (:mod:`.grammar`)."""
    tasks: list[Task] = []
    for sc in registry.scenarios.values():
        rng = random.Random(f"ptenv/{seed}/{user.user_id}/{sc.id}")
        pool = pools(sc)
        # Shuffled, so that a task's number says nothing about its kind.
        kinds = [kind for kind, count in KIND_PLAN for _ in range(count)]
        rng.shuffle(kinds)
        for n, kind in enumerate(kinds):
            tasks.append(_make_task(registry, sc, pool, user, kind, rng, f"{user.user_id}-{sc.id}-{n:02d}", varied))
    return tasks


def _make_task(
    registry: Registry, sc: ScenarioSpec, pool: _Pools, user: UserProfile, kind: str, rng: random.Random, task_id: str, varied: bool = False
) -> Task:
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
        # ptenv-v2: an employer's rule decides work spending (shown on all the user's requests here)
        policy = employer_rule(user, sc.id)
        ruled = policy is not None and context == policy.context
        if policy is not None and ruled:
            if kind in ("explicit_platform", "profile_dependent") and platform != policy.platform:
                continue  # the user would not name a platform their employer rules out
            if kind in PREFERENCE_KINDS:
                platform = policy.platform
        notices: tuple[Notice, ...] = ()
        if varied and not ruled and rng.random() < NOTICE_RATE:  # a platform that cannot be used for this request
            if kind in PREFERENCE_KINDS:
                target = draw_target(rng, sc, preferred)
            else:  # the request names the platform: the notice names another
                target = rng.choice([p.id for p in sc.platforms if p.id != platform])
            notices = (draw_notice(rng, sc, now, target),)
            platform = fallback(sc, platform, {target})
        task_seed = rng.randrange(2**31)
        refused = False
        draw = Draw(registry, sc, platform, user, now, rng, task_seed, varied)
        try:
            if kind == "multi_call" and varied and rng.random() < LONG_CHAIN_SHARE:
                long = rng.choice(long_chains(sc.id))
                template = grammar.sentence([rng.choice(long.queries)], f"{sc.id}/{long.id}", rng)
                query, calls = fill_long_chain(draw, long, template)
            elif kind == "multi_call":
                chain, template = rng.choice(pool.chains)
                if varied:
                    template = grammar.sentence([template], grammar.chain_key(sc.id, chain), rng)
                query, calls = _fill_chain(draw, chain, template)
            else:
                options = pool.profile if kind in ("preference_and_profile", "profile_dependent") else pool.plain
                if varied and kind in ("preference_and_profile", "profile_dependent") and _covered(sc, user):  # a teenager's purchases
                    options = tuple(o for o in options if o[0].key == guardian_rule()["api"]) or options
                api, template = rng.choice(options)
                if varied:
                    template = grammar.sentence([template], f"{sc.id}/{api.key}", rng)
                filler, tool = draw.filler(template), draw.tool(api)
                args = filler.args_for(api, {p.key: tool.arg_name(p) for p in api.params}, {})
                if varied and getattr(user.preferences[sc.id], "evidence", None) != "unknown":
                    extra = preference_args(sc, api, preferred, set(filler.chosen))
                    args |= {tool.arg_name(p): extra[p.key] for p in api.params if p.key in extra}
                query, calls = filler.render(), (GoldCall(tool=tool.name, api=tool.api, args=args),)
                if varied and must_decline(
                    sc.id,
                    api.key,
                    {p.key: args[tool.arg_name(p)].accepted[0] for p in api.params if tool.arg_name(p) in args},
                    user.facts["age"],
                ):
                    refused = True  # the rule forbids it: the right move is to decline, with no call
                ok, result = draw.backend().call(tool, calls[0].canonical_args())
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
        if varied:
            query = grammar.greet(query, rng)
        named = kind in ("explicit_platform", "profile_dependent")
        if named:
            mention = rng.choice(ph["platform_mentions"])
            query = mention.format(platform=sc.platform(platform).name, query=query)
        return Task(
            id=task_id,
            user_id=user.user_id,
            scenario=sc.id,
            kind="refusal" if refused else kind,
            query=query,
            context=context,
            now=now.strftime("%Y-%m-%dT%H:%M"),
            seed=task_seed,
            platform_named=named,
            gold=Gold(platform=platform, calls=(), decline=True) if refused else Gold(platform=platform, calls=calls),
            notices=notices,
        )
    raise RuntimeError(f"could not synthesize a {kind} task for {user.user_id} in {sc.id}")


def _fill_chain(draw: Draw, chain: ChainSpec, template: str) -> tuple[str, tuple[GoldCall, ...]]:
    filler, sc = draw.filler(template), draw.sc
    first, then = sc.api(chain.first), sc.api(chain.then)
    t1, t2 = draw.tool(first), draw.tool(then)
    fixed1 = {k: ArgGold(accepted=(v,), source="query") for k, v in chain.first_args.items()}
    args1 = filler.args_for(first, {p.key: t1.arg_name(p) for p in first.params}, fixed1)
    call1 = GoldCall(tool=t1.name, api=t1.api, args=args1)
    # The bound id is whatever the first call really returns on this task's backend.
    backend = draw.backend()
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


def _covered(sc: ScenarioSpec, user: UserProfile) -> bool:
    """Whether the guardian rule covers this user's purchases in ``sc`` (a teenager, there)."""
    rule = guardian_rule()
    return sc.id == rule["scenario"] and int(user.facts["age"]) < rule["min_age"]
