"""Checks of a scenario file: structure, template rules, and that every API really executes.

``python -m ptenv.tools_registry.checks [scenario | path.json ...]`` prints the problems (exit 1 if any);
the test suite asserts there are none. docs/registry-format.md states the rules checked here.
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from typing import Any

from .backend import Backend
from .registry import SCENARIOS, Registry, load_scenario, schema_problems
from .specs import PROFILE_FIELDS, ApiSpec, ParamSpec, ScenarioSpec, template_slots
from .world import World

#: A profile used to fill profile arguments when executing every API.
SAMPLE_PROFILE: dict[str, Any] = {
    "full_name": "Ada Moreno",
    "age": 34,
    "occupation": "nurse",
    "company": "Harbor Health",
    "city": "Northport",
    "home_address": "12 Elm Street, Northport",
    "work_address": "400 Harbor Road, Northport",
    "phone": "555-0142-7788",
    "email": "ada.moreno@example.com",
    "work_email": "a.moreno@harborhealth.example",
    "payment_method": "credit_card",
    "diet": "vegetarian",
    "clothing_size": "M",
    "shoe_size": 39,
    "seat_preference": "aisle",
    "passport_number": "X1234567",
    "language": "english",
}
SAMPLE_CONTEXT = {"date": "2026-03-03", "time": "19:00"}


def is_id_param(p: ParamSpec) -> bool:
    """An argument that can only come from a previous result (no values, profile or context)."""
    return not p.values and not p.profile and p.context is None and p.enum is None


def check_scenario(sc: ScenarioSpec) -> list[str]:
    problems: list[str] = []
    add = problems.append
    # -- platforms and traits ------------------------------------------------------------
    if len(sc.platforms) != 3:
        add(f"expected 3 platforms, found {len(sc.platforms)}")
    if len(sc.traits) != 3:
        add(f"expected 3 traits, found {len(sc.traits)}")
    best = set()
    for t in sc.traits:
        for p in sc.platforms:
            if set(p.traits) != set(sc.traits):
                add(f"platform {p.id}: traits {sorted(p.traits)} differ from scenario traits")
        scores = sorted(((p.traits.get(t, 0.0), p.id) for p in sc.platforms), reverse=True)
        if len(scores) > 1 and scores[0][0] <= scores[1][0]:
            add(f"trait {t}: no single best platform")
        best.add(scores[0][1])
    if len(best) != len(sc.platforms):
        add("each platform must be the best on exactly one trait")
    # -- APIs ----------------------------------------------------------------------------
    if len(sc.apis) != 24:
        add(f"expected 24 APIs, found {len(sc.apis)}")
    if len({a.key for a in sc.apis}) != len(sc.apis):
        add("duplicate API keys")
    renamed = sum(any(a.name_on(p.id) != a.key for p in sc.platforms) for a in sc.apis)
    if renamed < len(sc.apis) // 2:
        add(f"only {renamed} APIs are named differently on some platform (want at least half)")
    profile_apis = 0
    for api in sc.apis:
        problems.extend(f"{api.key}: {m}" for m in _check_api(sc, api))
        if api.queries and not any(is_id_param(p) and p.required for p in api.params):
            slotted = {k for q in api.queries for k, _ in template_slots(q)}
            if any(p.profile and (p.required or p.key in slotted) for p in api.params):
                profile_apis += 1
    if profile_apis < 6:
        add(f"only {profile_apis} single-call APIs take a profile argument (want at least 6)")
    # -- contexts and chains -------------------------------------------------------------
    if len(sc.contexts) != 4 or any(len(c.phrases) < 3 for c in sc.contexts):
        add("expected 4 contexts with at least 3 phrases each")
    if len(sc.chains) < 3:
        add(f"expected at least 3 chains, found {len(sc.chains)}")
    for i, ch in enumerate(sc.chains):
        problems.extend(f"chain {i} ({ch.first}->{ch.then}): {m}" for m in _check_chain(sc, ch))
    # -- names and schemas -----------------------------------------------------------------
    reg = Registry([sc])
    for tool in reg.tools.values():
        problems.extend(f"{tool.name}: {m}" for m in schema_problems(tool))
    problems.extend(_check_execution(sc, reg))
    return problems


def _check_api(sc: ScenarioSpec, api: ApiSpec) -> list[str]:
    out = []
    keys = {p.key for p in api.params}
    for p in api.params:
        for f in p.profile:
            if f not in PROFILE_FIELDS:
                out.append(f"param {p.key}: unknown profile field {f!r}")
            vocab = PROFILE_FIELDS.get(f)
            if p.enum and vocab:
                missing = [v for v in vocab if v not in p.enum and v != "none"]
                if missing:
                    out.append(f"param {p.key}: enum lacks profile values {missing}")
        if p.context and not p.pattern:
            out.append(f"param {p.key}: context params need a pattern")
        if p.enum:
            for entry in p.values:
                if any(v not in p.enum for v in entry):
                    out.append(f"param {p.key}: value {entry} not in enum")
    for pid in [p.id for p in sc.platforms]:
        # PTBench's answer form is Python call syntax: names must be identifiers, not keywords
        for name in [api.name_on(pid), *(p.name_on(pid) for p in api.params)]:
            if not name.isidentifier() or keyword.iskeyword(name):
                out.append(f"name {name!r} on {pid} is not a Python identifier (PTBench's answer form needs one)")
    for p in api.params:
        if p.differs_from is not None and p.differs_from not in keys:
            out.append(f"param {p.key}: differs_from names unknown param {p.differs_from!r}")
    extra = api.op.model_extra or {}
    target = extra.get("entity") or extra.get("collection")
    if target not in sc.entities and target not in sc.collections:
        out.append(f"op refers to unknown entity/collection {target!r}")
    if api.op.type == "transition" and not (extra.get("id_param") or extra.get("fixed_id")):
        out.append("transition needs id_param or fixed_id")
    for k in [extra.get("id_param"), extra.get("id_from"), *extra.get("match", {}), *extra.get("refs", {}), *extra.get("set", [])]:
        if k is not None and k not in keys:
            out.append(f"op names unknown param {k!r}")
    sort = extra.get("sort")
    if sort and sort["param"] not in keys:
        out.append(f"sort param {sort['param']!r} unknown")
    has_id = any(is_id_param(p) and p.required for p in api.params)
    if has_id and api.queries:
        out.append("APIs with a required id argument take no single-call queries")
    if not has_id and len(api.queries) < 3:
        out.append(f"needs at least 3 query templates, has {len(api.queries)}")
    for q in api.queries:
        out.extend(f"template {q!r}: {m}" for m in _check_template(q, api.params))
    return out


def _check_template(text: str, params: tuple[ParamSpec, ...] | list[ParamSpec]) -> list[str]:
    out = []
    by_key = {p.key: p for p in params}
    slots = template_slots(text)
    for key, form in slots:
        p = by_key.get(key)
        if p is None:
            out.append(f"slot {{{key}}} is not a parameter")
        elif form == "noun" and not p.profile:
            out.append(f"slot {{{key}:noun}} is only for profile parameters")
        elif not (p.values or p.profile or p.context):
            out.append(f"slot {{{key}}} has nothing to fill it (no values, profile or context)")
    slotted = {k for k, _ in slots}
    for p in params:
        if p.required and (p.values or p.context) and p.key not in slotted:
            out.append(f"required parameter {p.key!r} is not slotted")
        if len(p.profile) > 1 and p.required and p.key not in slotted:
            out.append(f"parameter {p.key!r} has several profile fields and must be slotted")
    return out


def _check_chain(sc: ScenarioSpec, ch: Any) -> list[str]:
    out = []
    try:
        first, then = sc.api(ch.first), sc.api(ch.then)
    except KeyError as exc:
        return [str(exc)]
    then_keys = {p.key for p in then.params}
    for k in ch.bind:
        if k not in then_keys:
            out.append(f"bind param {k!r} is not a parameter of {then.key}")
    for k in ch.first_args:
        if k not in {p.key for p in first.params}:
            out.append(f"first_args {k!r} is not a parameter of {first.key}")
    for q in ch.queries:
        params = [p for p in first.params if p.key not in ch.first_args] + [p for p in then.params if p.key not in ch.bind]
        out.extend(f"template {q!r}: {m}" for m in _check_template(q, params))
    if len(ch.queries) < 2:
        out.append("needs at least 2 query templates")
    return out


def _sample_args(sc: ScenarioSpec, be: Backend, platform: str, api: ApiSpec, minimal: bool = False) -> dict[str, Any] | None:
    """Canonical arguments that should execute; ``None`` if no suitable record exists.

    ``minimal`` leaves optional arguments out (filters would hide what a value alone finds).
    """
    args: dict[str, Any] = {}
    extra = api.op.model_extra or {}
    refs = extra.get("refs", {})
    for p in api.params:
        if minimal and not p.required:
            continue
        if p.values:
            args[p.key] = p.values[0][0]
        elif p.context:
            args[p.key] = SAMPLE_CONTEXT[p.context]
        elif p.profile:
            v = SAMPLE_PROFILE[p.profile[0]]
            args[p.key] = v if not p.enum or v in p.enum else p.enum[0]
        elif p.enum:
            args[p.key] = p.enum[0]
        elif p.type in ("integer", "number"):
            args[p.key] = int(p.minimum) if p.minimum is not None else 1
        elif p.type == "boolean":
            args[p.key] = True
        elif p.type == "array":
            args[p.key] = ["sample"]
        elif p.required:
            target = refs.get(p.key) or (extra.get("entity") or extra.get("collection") if p.key == extra.get("id_param") else None)
            if target is None:
                args[p.key] = f"sample {p.key}"
                continue
            records = be.world.catalog[platform].get(target) or be.state(platform).get(target, {})
            allowed = extra.get("from")
            rec = next((r for r in records.values() if not allowed or r.get("status") in allowed), None)
            if rec is None:
                return None
            args[p.key] = rec["id"]
    return args


_ORDER = {"create": 0, "search": 1, "get": 1, "transition": 2, "delete": 3, "clear": 4}


def _check_execution(sc: ScenarioSpec, reg: Registry) -> list[str]:
    out = []
    world = World(sc)  # this spec's own: it may be a file in progress, outside any registry
    for p in sc.platforms:
        be = Backend(world, seed=7)
        for api in sorted(sc.apis, key=lambda a: _ORDER[a.op.type]):
            tool = reg.tool_for(sc.id, p.id, api.key)
            args = _sample_args(sc, be, p.id, api)
            if args is None:
                out.append(f"{tool.name}: no record in a suitable state to execute it with")
                continue
            named = {tool.arg_name(prm): args[prm.key] for prm in api.params if prm.key in args}
            ok, result = be.call(tool, named)
            if not ok:
                out.append(f"{tool.name}: sample call {named} failed: {result['error']}")
            bad_ok, bad = be.call(tool, {**named, "no_such_argument": 1})
            if bad_ok or bad["error"]["code"] != "invalid_arguments":
                out.append(f"{tool.name}: an unknown argument was not refused")
            # every query value of a text search must find something on every platform
            for prm in api.params:
                match = (api.op.model_extra or {}).get("match", {}).get(prm.key, {})
                if (
                    api.op.type == "search"
                    and match.get("mode", "text") == "text"
                    and prm.key in (api.op.model_extra or {}).get("match", {})
                ):
                    base = _sample_args(sc, be, p.id, api, minimal=True) or {}
                    for entry in prm.values:
                        for v in entry:
                            res = be.execute(p.id, api.key, {**base, prm.key: v})
                            if not res.get("results"):
                                out.append(f"{tool.name}: {prm.key}={v!r} finds nothing")
        for i, ch in enumerate(sc.chains):
            first = sc.api(ch.first)
            kw = next((prm for prm in first.params if prm.values and prm.key not in ch.first_args), None)
            base = _sample_args(sc, be, p.id, first, minimal=True) or {}
            entries: list[tuple[Any, ...]] = list(kw.values) if kw else [(None,)]
            for entry in entries:
                args = {**base, **ch.first_args}
                if kw:
                    args[kw.key] = entry[0]
                res = be.execute(p.id, first.key, args)
                items = res.get("results") or []
                if not items:
                    out.append(f"chain {i} on {p.id}: first call {args} finds nothing")
                elif any(f not in items[0] for f in ch.bind.values()):
                    out.append(f"chain {i} on {p.id}: first result lacks {list(ch.bind.values())}")
    return out


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(SCENARIOS)
    bad = 0
    for name in names:
        # A path checks a file in progress; a bare name checks the installed scenario.
        spec = ScenarioSpec.model_validate_json(Path(name).read_text(encoding="utf-8")) if name.endswith(".json") else load_scenario(name)
        problems = check_scenario(spec)
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for m in problems:
            print(f"  - {m}")
        bad += len(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
