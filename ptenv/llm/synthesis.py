"""PTool-style synthesis with an LLM, as optional commands (``ptenv synth ...``).

The offline generator stays the default and the benchmark's source; these commands propose
*additions*, and every proposal is validated against the registry before it is accepted:

* ``paraphrase``: new wordings of existing queries. Accepted only if every value the query states
  is still there verbatim, the platform is named exactly when the original names it, and no other
  platform is named; the task keeps its gold, which is re-validated and re-executed.
* ``users``: new user profiles as JSON facts. Accepted only if every profile field is present and
  valid; the user then gets preferences, history and tasks from the offline recipe, and every gold
  call of those tasks must validate and execute.
* ``apis``: new APIs for a scenario as JSON (docs/registry-format.md) with a sample call. Accepted
  only if the spec parses, passes the scenario checker's API rules, its schema suits both providers,
  and the sample call validates and executes on a fresh backend.

Responses are cached (``ptenv.llm.client``), so a rerun is free and identical. Rejections are reported
with their reason; nothing is accepted silently.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ptenv.llm.client import LLMConfig, ResponseCache, complete
from ptenv.scenarios import Dataset, Task, UserProfile, load_dataset
from ptenv.scenarios.profiles import make_history, make_preference
from ptenv.scenarios.synthesis import synthesize_user_tasks
from ptenv.tools_registry import PROFILE_FIELDS, ApiSpec, Backend, Registry, World
from ptenv.tools_registry.checks import _check_api, _sample_args
from ptenv.tools_registry.registry import schema_problems


@dataclass
class Outcome:
    accepted: list[Any] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)


def _json_block(text: str) -> Any:
    """The first JSON value in a reply (models like to wrap it in prose or a fence)."""
    m = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    raw = m.group(1) if m else text[text.find("{") if "{" in text else 0 :]
    return json.JSONDecoder().raw_decode(raw.strip())[0]


# -- paraphrases -------------------------------------------------------------------------------
def query_values(task: Task) -> list[str]:
    """Texts the query must keep: each query-sourced value as written in it."""
    out = []
    for c in task.gold.calls:
        for a in c.args.values():
            if a.source == "query":
                text = str(a.accepted[0]).replace("_", " ")
                if text.lower() in task.query.lower():
                    out.append(text)
    return out


def check_paraphrase(task: Task, text: str, registry: Registry) -> str | None:
    """Why a paraphrase is rejected (None: accepted)."""
    if not text.strip() or len(text) > 600:
        return "empty or too long"
    low = text.lower()
    for v in query_values(task):
        if v.lower() not in low:
            return f"lost the value {v!r}"
    sc = registry.scenarios[task.scenario]
    named = sc.platform(task.gold.platform).name
    for p in sc.platforms:
        mentioned = p.name.lower() in low
        if p.name == named and task.platform_named and not mentioned:
            return f"dropped the platform {named}"
        if mentioned and not (task.platform_named and p.name == named):
            return f"names a platform ({p.name}) the original does not"
    return None


def paraphrase(dataset: Dataset, tasks: list[Task], provider: str, config: LLMConfig, registry: Registry | None = None) -> Outcome:
    reg = registry or Registry.default()
    cache = ResponseCache(config.cache_dir)
    out = Outcome()
    system = (
        "Rewrite the user's request to an assistant in different words, as the same person would say it. "
        "Keep every value in double quotes exactly as written. Keep the platform name if there is one; add none. "
        "Reply with the rewritten request only."
    )
    for t in tasks:
        keep = ", ".join(f'"{v}"' for v in query_values(t)) or "(none)"
        reply = complete(provider, config, system, f"Request: {t.query}\nValues to keep: {keep}", cache, salt=t.id).strip().strip('"')
        why = check_paraphrase(t, reply, reg)
        if why is None:
            new = t.model_copy(update={"id": f"{t.id}-p", "query": reply})
            backend = Backend(reg.world(new.scenario), seed=new.seed, now=new.now)
            for call in new.gold.calls:  # the gold is unchanged: it must still validate and run
                ok, res = backend.call(reg.tools[call.tool], call.canonical_args())
                if not ok:
                    why = f"gold no longer executes: {res['error']['message']}"
                    break
        if why is None:
            out.accepted.append(new)
        else:
            out.rejected.append({"id": t.id, "reason": why})
    return out


# -- users -------------------------------------------------------------------------------------
def check_facts(facts: Any) -> str | None:
    if not isinstance(facts, dict):
        return "not a JSON object"
    missing = [f for f in PROFILE_FIELDS if f not in facts]
    if missing:
        return f"missing fields {missing}"
    extra = sorted(set(facts) - set(PROFILE_FIELDS))
    if extra:
        return f"unknown fields {extra}"
    for f, vocab in PROFILE_FIELDS.items():
        if vocab is not None and facts[f] not in vocab:
            return f"{f}={facts[f]!r} is not one of {list(vocab)}"
    for f in ("age", "shoe_size"):
        if not isinstance(facts[f], int) or isinstance(facts[f], bool):
            return f"{f} must be an integer"
    for f, v in facts.items():
        if PROFILE_FIELDS[f] is None and f not in ("age", "shoe_size") and (not isinstance(v, str) or not v.strip()):
            return f"{f} must be a non-empty string"
    return None


def propose_users(n: int, provider: str, config: LLMConfig, seed: int = 0, registry: Registry | None = None) -> Outcome:
    reg = registry or Registry.default()
    cache = ResponseCache(config.cache_dir)
    out = Outcome()
    vocab = {f: list(v) if v else "free text (age and shoe_size: integers)" for f, v in PROFILE_FIELDS.items()}
    system = (
        "Invent a realistic, fictional person for a benchmark. Reply with one JSON object with exactly these fields and allowed values:\n"
        + json.dumps(vocab)
    )
    for i in range(n):
        reply = complete(
            provider,
            config,
            system,
            f"Person number {i + 1}. Fictional names, addresses, phone and emails only.",
            cache,
            salt=f"user/{seed}/{i}",
        )
        try:
            facts = _json_block(reply)
        except (json.JSONDecodeError, ValueError):
            out.rejected.append({"id": f"llm-u{i:03d}", "reason": "reply has no JSON object"})
            continue
        why = check_facts(facts)
        if why is None:
            uid = f"llm-u{i:03d}"
            rng = random.Random(f"ptenv/llm-user/{seed}/{uid}")
            prefs = {sc.id: make_preference(rng, sc, rng.choice(list(sc.traits))) for sc in reg.scenarios.values()}
            user = UserProfile(user_id=uid, facts=facts, preferences=prefs, history=make_history(rng, reg, prefs))
            try:
                tasks = synthesize_user_tasks(reg, user, seed)  # every gold call is executed while made
            except RuntimeError as exc:
                why = f"no valid tasks: {exc}"
            else:
                out.accepted.append({"user": user, "tasks": tasks})
                continue
        out.rejected.append({"id": f"llm-u{i:03d}", "reason": why})
    return out


# -- APIs --------------------------------------------------------------------------------------
def check_api_proposal(scenario: str, proposal: Any, registry: Registry | None = None) -> tuple[ApiSpec | None, str | None]:
    """Validate a proposed API ``{"api": {...ApiSpec...}, "sample_call": {canonical args}}``."""
    reg = registry or Registry.default()
    sc = reg.scenarios[scenario]
    if not isinstance(proposal, dict) or "api" not in proposal:
        return None, 'expected {"api": {...}, "sample_call": {...}}'
    try:
        api = ApiSpec.model_validate(proposal["api"])
    except Exception as exc:
        return None, f"invalid API spec: {str(exc).splitlines()[0]}"
    if any(a.key == api.key for a in sc.apis):
        return None, f"an API {api.key!r} already exists"
    extended = sc.model_copy(update={"apis": (*sc.apis, api)})
    problems = _check_api(extended, api)
    if problems:
        return None, problems[0]
    try:
        trial = Registry([extended])
    except ValueError as exc:  # e.g. its name on some platform clashes with an existing tool
        return None, str(exc)
    for p in extended.platforms:
        problems += schema_problems(trial.tool_for(scenario, p.id, api.key))
    if problems:
        return None, problems[0]
    sample = proposal.get("sample_call")
    backend = Backend(World(extended), seed=1)
    for p in extended.platforms:
        tool = trial.tool_for(scenario, p.id, api.key)
        args = sample if isinstance(sample, dict) else _sample_args(extended, backend, p.id, api)
        if args is None:
            return None, "no sample call and no record to act on"
        named = {tool.arg_name(q): args[q.key] for q in api.params if q.key in args}
        ok, res = backend.call(tool, named)
        if not ok:  # the gold of the proposal must validate and execute on every platform
            return None, f"sample call fails on {p.id}: {res['error']['message']}"
    return api, None


def propose_apis(scenario: str, n: int, provider: str, config: LLMConfig, registry: Registry | None = None) -> Outcome:
    reg = registry or Registry.default()
    sc = reg.scenarios[scenario]
    cache = ResponseCache(config.cache_dir)
    out = Outcome()
    example = sc.apis[0].model_dump(mode="json")
    system = (
        f"You extend a mock '{sc.id}' app with one new API. Existing APIs: {', '.join(a.key for a in sc.apis)}. "
        f"Entities: {', '.join(sc.entities)}; collections: {', '.join(sc.collections)}. Reply with one JSON object "
        '{"api": <an API spec in the same format as this example>, "sample_call": {<canonical argument values>}}.\n'
        f"Example API spec: {json.dumps(example)}"
    )
    for i in range(n):
        reply = complete(
            provider, config, system, f"Proposal number {i + 1}: a useful API that does not exist yet.", cache, salt=f"api/{scenario}/{i}"
        )
        try:
            proposal = _json_block(reply)
        except (json.JSONDecodeError, ValueError):
            out.rejected.append({"id": f"{scenario}-api-{i}", "reason": "reply has no JSON object"})
            continue
        api, why = check_api_proposal(scenario, proposal, reg)
        if api is not None:
            out.accepted.append(api)
        else:
            out.rejected.append({"id": f"{scenario}-api-{i}", "reason": str(why)})
    return out


def synthesize(
    what: str, provider: str, config: LLMConfig, *, dataset: str, split: str, scenario: str, n: int, seed: int
) -> tuple[Outcome, list[str]]:
    """``ptenv synth WHAT``: the outcome, and each accepted proposal as a JSON line."""
    if what == "paraphrase":
        ds = load_dataset(dataset)
        outcome = paraphrase(ds, ds.split(split)[:n], provider, config)
        return outcome, [t.model_dump_json() for t in outcome.accepted]
    if what == "users":
        outcome = propose_users(n, provider, config, seed=seed)
        lines = [
            json.dumps({"user": r["user"].model_dump(mode="json"), "tasks": [t.model_dump(mode="json") for t in r["tasks"]]})
            for r in outcome.accepted
        ]
        return outcome, lines
    if what == "apis":
        outcome = propose_apis(scenario, n, provider, config)
        return outcome, [a.model_dump_json() for a in outcome.accepted]
    raise ValueError(f"synth makes paraphrase, users or apis, not {what!r}")
