"""Long chains (ptenv-v2): one request, 3 or 4 calls, later arguments taken from earlier results.

A v1 chain (:class:`~ptenv.tools_registry.specs.ChainSpec`) is a search and one call bound to its
first result. A long chain generalizes it to N steps (``data/long_chains.json``): each step names
an API, fixed canonical arguments the request states literally (``args``: "the cheapest" is
``sort_by: price``) and ``bind``, ``{param: [step, path]}``: the value at a dotted path into that
earlier step's output (``[0, "results.0.id"]``, ``[1, "booking.id"]``). Every other argument is
filled as in the v1 chains, by :class:`~ptenv.scenarios.filler._Filler`: from the request's
``{slot}`` s (query values, dates and times from the clock, profile fields from hints), from the
profile (a required argument with a single profile field), or from an earlier step's argument of
the same name (one request, one delivery address).

Loading validates every chain against the registry so that every task it makes is decidable: an
unknown API, parameter or slot, a required argument that nothing states, an ambiguous profile field
or a bind into a later step is a ``ValueError`` naming the chain. :func:`fill_long_chain` fills one
template and really executes every step, in order, on one backend (what an agent's calls would
meet), so a bound value is what the earlier call really returned.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ptenv.tools_registry import ApiSpec, ParamSpec, Registry, ScenarioSpec, template_slots

from .filler import Draw, Infeasible
from .tasks import ArgGold, GoldCall

#: Calls per long chain, and query templates per chain.
STEPS = (3, 4)
QUERIES = (2, 4)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LongStep(_Frozen):
    """One call of a chain: its API, the arguments stated literally, the arguments bound to results."""

    api: str
    args: dict[str, Any] = Field(default_factory=dict)
    #: Parameter -> (earlier step index, dotted path into that step's output).
    bind: dict[str, tuple[int, str]] = Field(default_factory=dict)


class LongChain(_Frozen):
    id: str
    scenario: str
    steps: tuple[LongStep, ...]
    queries: tuple[str, ...]


def resolve(output: Any, path: str) -> Any:
    """The value at ``path`` (``"results.0.id"``) in a call's output; None when it is not there."""
    cur = output
    for part in path.split("."):
        if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None
    return cur


def _output_roots(sc: ScenarioSpec, api: ApiSpec) -> tuple[str, ...]:
    """The top-level keys of ``api``'s output (see tools_registry/backend.py)."""
    extra = api.op.model_extra or {}
    if api.op.type == "search":
        return ("results", "count")
    if api.op.type == "delete":
        return ("removed",)
    if api.op.type == "clear":
        return ("removed_count",)
    name = extra.get("collection") or extra.get("entity") or ""
    col = sc.collections.get(name)
    return (col.singular if col else name,)


def slot_params(sc: ScenarioSpec, chain: LongChain, template: str) -> dict[str, ParamSpec]:
    """Each slot key of ``template`` -> the parameter its text fills (the first step that takes
    it: later steps inherit the value). Raises ``ValueError`` when the chain, with this template,
    would make a task that the request and the profile do not decide."""

    def bad(msg: str) -> ValueError:
        return ValueError(f"long chain {sc.id}/{chain.id}: {msg} (template {template!r})")

    slots = template_slots(template)
    slotted = {k for k, _ in slots}
    apis: list[ApiSpec] = []
    for i, step in enumerate(chain.steps):
        try:
            apis.append(sc.api(step.api))
        except KeyError:
            raise bad(f"step {i} names unknown API {step.api!r}") from None
    unknown = slotted - {p.key for api in apis for p in api.params}
    if unknown:
        raise bad(f"slot(s) {sorted(unknown)} name no parameter of any step")
    chosen: dict[str, tuple[int, ParamSpec]] = {}
    filled: dict[str, ParamSpec] = {}
    for i, (step, api) in enumerate(zip(chain.steps, apis, strict=True)):
        params = {p.key: p for p in api.params}
        for key in [*step.args, *step.bind]:
            if key not in params:
                raise bad(f"step {i} ({api.key}) has no parameter {key!r}")
        for key, value in step.args.items():
            if params[key].enum and value not in (params[key].enum or ()):
                raise bad(f"step {i} ({api.key}): {key}={value!r} is not one of {params[key].enum}")
        for key, (j, path) in step.bind.items():
            if not 0 <= j < i:
                raise bad(f"step {i} ({api.key}) binds {key} to step {j}, which is not an earlier step")
            roots = _output_roots(sc, sc.api(chain.steps[j].api))
            if path.split(".")[0] not in roots:
                raise bad(f"step {i} binds {key} to {path!r}, but step {j}'s output has only {roots}")
        if i and not step.bind and not any(j == i for later in chain.steps for j, _ in later.bind.values()):
            raise bad(f"step {i} ({api.key}) neither takes from an earlier result nor feeds a later step")
        for p in api.params:
            if p.key in step.args or p.key in step.bind:
                chosen.setdefault(p.key, (i, p))
            elif p.key in chosen:  # the filler reuses the earlier step's value: it must fit here
                j, q = chosen[p.key]
                if (q.type, q.enum, q.values, q.context, q.profile) != (p.type, p.enum, p.values, p.context, p.profile):
                    raise bad(f"step {i} ({api.key}) would reuse step {j}'s {p.key!r}, a different parameter")
            elif p.key in slotted:
                forms = {f for k, f in slots if k == p.key}
                if not (p.values or p.context or p.profile):
                    raise bad(f"slot {{{p.key}}} of step {i} ({api.key}) has no query, date or profile value")
                if "noun" in forms and not (p.profile and not p.values and not p.context):
                    raise bad(f"slot {{{p.key}:noun}}: only a profile parameter has a noun form")
                chosen[p.key], filled[p.key] = (i, p), p
            elif p.required:
                if p.values or p.context or len(p.profile) != 1:
                    raise bad(f"required {api.key}.{p.key} is neither stated, bound nor one profile field")
                chosen[p.key] = (i, p)
    unused = slotted - set(filled)
    if unused:
        raise bad(f"slot(s) {sorted(unused)} fill no parameter")
    return filled


def parse_long_chains(raw: dict[str, Any], sc: ScenarioSpec) -> tuple[LongChain, ...]:
    """The chains of ``sc`` in ``raw`` (the JSON's content), validated (``ValueError`` if not)."""
    chains: list[LongChain] = []
    for entry in raw.get(sc.id, []):
        cid = entry.get("id", "?") if isinstance(entry, dict) else "?"
        try:
            chain = LongChain.model_validate({**entry, "scenario": sc.id})
        except Exception as exc:  # pydantic's message, under the chain's name
            raise ValueError(f"long chain {sc.id}/{cid}: malformed: {exc}") from None
        if not STEPS[0] <= len(chain.steps) <= STEPS[1]:
            raise ValueError(f"long chain {sc.id}/{cid}: {len(chain.steps)} steps, not {STEPS[0]}-{STEPS[1]}")
        if not QUERIES[0] <= len(chain.queries) <= QUERIES[1]:
            raise ValueError(f"long chain {sc.id}/{cid}: {len(chain.queries)} queries, not {QUERIES[0]}-{QUERIES[1]}")
        if len({s.api for s in chain.steps}) < len(chain.steps):  # the scorer matches calls by function
            raise ValueError(f"long chain {sc.id}/{cid}: an API is called twice")
        if any(c.id == chain.id for c in chains):
            raise ValueError(f"long chain {sc.id}/{cid}: the id is used twice")
        for template in chain.queries:
            slot_params(sc, chain, template)
        chains.append(chain)
    return tuple(chains)


@cache
def _raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data/long_chains.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def long_chains(scenario_id: str) -> tuple[LongChain, ...]:
    """The built-in registry's long chains of a scenario, validated (cached)."""
    registry = Registry.default()
    if scenario_id not in registry.scenarios:
        raise ValueError(f"no scenario {scenario_id!r}")
    return parse_long_chains(_raw(), registry.scenarios[scenario_id])


def long_chain(scenario_id: str, chain_id: str) -> LongChain:
    for chain in long_chains(scenario_id):
        if chain.id == chain_id:
            return chain
    raise KeyError(f"scenario {scenario_id!r} has no long chain {chain_id!r}")


def fill_long_chain(draw: Draw, chain: LongChain, template: str) -> tuple[str, tuple[GoldCall, ...]]:
    """The request text and gold calls of ``chain`` for the draw's user, platform and clock.

    Every step really runs, in order, on one backend seeded with the task's seed: a bound value is
    what the earlier call returned. Raises :class:`~ptenv.scenarios.filler.Infeasible` when the
    template does not fit the user, a call fails, or a step finds nothing to bind.
    """
    filler, backend, sc = draw.filler(template), draw.backend(), draw.sc
    outputs: list[dict[str, Any]] = []
    calls: list[GoldCall] = []
    for i, step in enumerate(chain.steps):
        api = sc.api(step.api)
        tool = draw.tool(api)
        fixed = {k: ArgGold(accepted=(v,), source="query") for k, v in step.args.items()}
        for key, (j, path) in step.bind.items():
            value = resolve(outputs[j], path)
            if value is None:
                raise Infeasible(f"{chain.id}: step {j} gave no {path!r} for {api.key}.{key}")
            fixed[key] = ArgGold(accepted=(value,), source="previous_result")
        args = filler.args_for(api, {p.key: tool.arg_name(p) for p in api.params}, fixed)
        call = GoldCall(tool=tool.name, api=tool.api, args=args)
        ok, result = backend.call(tool, call.canonical_args())
        if not ok:
            raise Infeasible(f"{chain.id}: step {i} ({api.key}) fails: {result['error']['message']}")
        if "results" in result and not result["results"]:
            raise Infeasible(f"{chain.id}: step {i} ({api.key}) finds nothing")
        outputs.append(result)
        calls.append(call)
    return filler.render(), tuple(calls)
