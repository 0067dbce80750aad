"""Scripted baselines that read requests with the public query templates.

:class:`HeuristicAgent` is the strong scripted baseline. It parses the request with the
scenario's published templates (``ptenv.tools_registry`` data), then:

* platform: the one the query names; otherwise the one this user used in the same situation in
  their history (shown in ``profile``/``history`` modes, searched with ``search_history`` in
  ``hidden`` mode), else the one they use by default;
* profile-derived arguments: from the visible profile, or ``get_profile_field`` when hidden;
* multi-call requests: runs the first call, binds the id from its first result, runs the second.

:class:`ProfileBlindAgent` is the same reader with the user ignored: a named platform is kept,
any other choice is uniformly random, and profile-derived arguments are left out. It is the
validity floor. Neither agent ever sees the gold.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from ptenv.observations import parse_observation
from ptenv.scenarios.profiles import phrasing
from ptenv.tools_registry import ApiSpec, ParamSpec, Registry, ScenarioSpec
from ptenv.tools_registry.specs import ChainSpec


@dataclass(frozen=True)
class _Template:
    regex: re.Pattern[str]
    slots: tuple[tuple[str, str], ...]
    first: ApiSpec
    then: ApiSpec | None = None
    chain: ChainSpec | None = None


@cache
def _templates(scenario: str) -> tuple[_Template, ...]:
    sc = Registry.default().scenarios[scenario]
    out = []
    for api in sc.apis:
        out += [_compile(q, api) for q in api.queries]
    for ch in sc.chains:
        out += [_compile(q, sc.api(ch.first), sc.api(ch.then), ch) for q in ch.queries]
    # most specific (most literal text) first, so a generic template does not win by accident
    return tuple(sorted(out, key=lambda t: -len(re.sub(r"\(\?P<\w+>\.\+\?\)", "", t.regex.pattern))))


def _compile(text: str, first: ApiSpec, then: ApiSpec | None = None, chain: ChainSpec | None = None) -> _Template:
    params = {p.key: p for p in (then.params if then else ())}
    params.update({p.key: p for p in first.params})
    pattern, slots, pos = "", [], 0
    for i, m in enumerate(re.finditer(r"\{([a-z_][a-z0-9_]*)(?::(noun))?\}", text)):
        choices = _slot_texts(params[m.group(1)], m.group(2) or "")
        # each slot matches only what can fill it, so adjacent slots split one way only
        alt = "|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True)) if choices else ".+?"
        pattern += re.escape(text[pos : m.start()]) + f"(?P<s{i}>{alt})"
        slots.append((m.group(1), m.group(2) or ""))
        pos = m.end()
    pattern += re.escape(text[pos:])
    return _Template(re.compile(pattern, re.I | re.S), tuple(slots), first, then, chain)


@dataclass
class _Plan:
    """What the agent intends for the current request."""

    calls: list[tuple[ApiSpec, dict[str, Any]]] = field(default_factory=list)
    chain: ChainSpec | None = None
    then: ApiSpec | None = None
    then_args: dict[str, Any] = field(default_factory=dict)


class HeuristicAgent:
    name = "heuristic"
    uses_profile = True
    #: Whether to read the user's history for the platform (the session learner learns it instead).
    uses_history = True

    def __init__(self, seed: int | None = 0):
        self._rng = random.Random(seed)
        self._pending: list[str] = []
        self._task: dict[str, Any] = {}
        self._state = "idle"

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = random.Random(seed)
        self._pending, self._task, self._state = [], {}, "idle"

    # -- the loop ---------------------------------------------------------------------------
    def act(self, observation: str) -> str:
        obs = parse_observation(observation)
        if obs.get("type") == "ptbench":
            return self._ptbench_answer(obs)
        if obs.get("type") == "task":
            self._start(obs)
        elif obs.get("type") == "tool_results":
            self._absorb(obs)
        if self._pending:
            return self._pending.pop(0)
        return json.dumps({"name": "finish"})

    def _start(self, obs: dict[str, Any]) -> None:
        self._task = {
            "scenario": obs["scenario"],
            "query": obs["query"],
            "now": obs["now"],
            "profile": obs["user"].get("profile"),
            "hidden": obs["user"]["visibility"] == "hidden",
            "facts": _facts(obs["user"].get("profile") or ""),
            "history": _history(obs["user"].get("profile") or ""),
            "platforms": {p["name"]: p["id"] for p in obs["platforms"]},
        }
        self._pending = []
        sc = Registry.default().scenarios[obs["scenario"]]
        core, named, context = _strip(obs["query"], sc)
        self._task["context"] = context
        match = _match(core, obs["scenario"], obs["now"])
        if match is None:  # no template fits: nothing sensible to do
            self._state = "done"
            return
        tpl, texts = match
        self._task["tpl"], self._task["texts"] = tpl, texts
        self._task["platform"] = self._task["platforms"].get(named) if named else None
        needs = _profile_needs(tpl, texts)
        if self._task["hidden"] and self.uses_profile:
            # look up what the profile would have shown: the history, and each needed field
            self._state = "looking_up"
            lookups = [{"name": "search_history", "arguments": {"scenario": obs["scenario"]}}] if self.uses_history else []
            lookups += [{"name": "get_profile_field", "arguments": {"field": f}} for f in needs]
            if not lookups:
                self._issue_first()
                return
            self._pending = [json.dumps(lookups)]  # one action, several calls: saves steps
            return
        self._issue_first()

    def _ptbench_answer(self, obs: dict[str, Any]) -> str:
        """PTBench's one-shot protocol: the same reading, answered as ``Platform:[api(...)]``.
        A multi-call request needs the first call's result, so only its first call is given."""
        try:
            named = {t.get("platform") for t in json.loads(obs.get("tools") or "[]") if isinstance(t, dict)}
        except json.JSONDecodeError:
            named = set()
        sc = next((s for s in Registry.default().scenarios.values() if {p.name for p in s.platforms} <= named), None)
        if sc is None:  # not a ptenv world: nothing this reader knows
            return "I cannot answer this request."
        self._start(
            {
                "scenario": sc.id,
                "query": obs["query"],
                "now": obs.get("now") or "2026-03-02T10:00",
                "user": {"visibility": "profile", "profile": obs.get("user_profile") or ""},
                "platforms": [{"id": p.id, "name": p.name} for p in sc.platforms],
            }
        )
        if not self._pending:
            return "I cannot answer this request."
        call = json.loads(self._pending.pop(0))
        platform, _, api = call["name"].partition("__")
        args = ", ".join(f"{k}={v!r}" for k, v in call["arguments"].items())
        return f"{sc.platform(platform).name}:[{api}({args})]"

    def _absorb(self, obs: dict[str, Any]) -> None:
        for res in obs.get("results", []):
            if not res.get("ok"):
                continue
            out = res.get("output", {})
            if res["tool"] == "get_profile_field":
                self._task["facts"][out["field"]] = out["value"]
            elif res["tool"] == "search_history":
                self._task["history"] = [(e["platform"], e["situation"]) for e in out["events"] if e["scenario"] == self._task["scenario"]]
            elif self._state == "waiting_first" and res.get("output", {}).get("results"):
                self._issue_then(res["output"]["results"][0])
                return
        if self._state == "looking_up" and not self._pending:
            self._issue_first()
        elif self._state == "waiting_first" and not self._pending:
            self._state = "done"  # the first call found nothing: finish

    # -- building calls ---------------------------------------------------------------------
    def _platform(self) -> str:
        if self._task.get("platform"):
            return str(self._task["platform"])
        sc = Registry.default().scenarios[self._task["scenario"]]
        if not self.uses_profile:
            return self._rng.choice([p.id for p in sc.platforms])
        names = {p.name: p.id for p in sc.platforms}
        situation = _situation_phrase(sc, self._task.get("context"))
        hist = self._task["history"]
        same = Counter(p for p, s in hist if s == situation and situation is not None)
        default = Counter(p for p, s in hist if s is None)
        for counter in (same, default, Counter(p for p, _ in hist)):
            if counter:
                return names.get(counter.most_common(1)[0][0], counter.most_common(1)[0][0])
        return sc.platforms[0].id

    def _issue_first(self) -> None:
        tpl: _Template = self._task["tpl"]
        platform = self._platform()
        self._task["chosen"] = platform
        fixed = dict(tpl.chain.first_args) if tpl.chain else {}
        args = self._args(tpl.first, fixed)
        self._pending.append(_call(platform, tpl.first, args))
        self._state = "waiting_first" if tpl.then is not None else "done"

    def _issue_then(self, first_result: dict[str, Any]) -> None:
        tpl: _Template = self._task["tpl"]
        assert tpl.then is not None and tpl.chain is not None
        fixed = {k: first_result.get(f) for k, f in tpl.chain.bind.items()}
        args = self._args(tpl.then, fixed)
        self._pending.append(_call(self._task["chosen"], tpl.then, args))
        self._state = "done"

    def _args(self, api: ApiSpec, fixed: dict[str, Any]) -> dict[str, Any]:
        texts: dict[tuple[str, str], str] = self._task["texts"]
        slotted = {k for k, _ in texts}
        out: dict[str, Any] = {}
        for p in api.params:
            if p.key in fixed:
                out[p.key] = fixed[p.key]
            elif p.values and p.key in slotted:
                out[p.key] = _value_from_text(p, texts[(p.key, "")])
            elif p.context and p.key in slotted:
                out[p.key] = _context_value(p, texts[(p.key, "")], self._task["now"])
            elif p.profile and (p.required or p.key in slotted):
                fld = _field_from_hint(p, texts)
                if not self.uses_profile:
                    if p.required:  # the call must still go through: a guess, not the user's value
                        out[p.key] = self._rng.choice(p.enum) if p.enum else (int(p.minimum or 1) if p.type == "integer" else "unknown")
                elif fld in self._task["facts"]:
                    out[p.key] = _coerce(p, self._task["facts"][fld])
        return out


class ProfileBlindAgent(HeuristicAgent):
    """The heuristic with the user ignored: the validity floor."""

    name = "profile-blind"
    uses_profile = False


# -- parsing helpers ------------------------------------------------------------------------
def _call(platform: str, api: ApiSpec, args: dict[str, Any]) -> str:
    named = {p.name_on(platform): args[p.key] for p in api.params if p.key in args}
    return json.dumps({"name": f"{platform}__{api.name_on(platform)}", "arguments": named})


def _strip(query: str, sc: ScenarioSpec) -> tuple[str, str | None, str | None]:
    """The request without its platform mention and situation phrase: (core, platform, context)."""
    text, named = query.strip(), None
    names = "|".join(re.escape(p.name) for p in sc.platforms)
    for mention in phrasing()["platform_mentions"]:
        pat = re.escape(mention).replace(r"\{platform\}", f"(?P<p>{names})").replace(r"\{query\}", "(?P<q>.+)")
        m = re.fullmatch(pat, text, re.S)
        if m:
            text, named = m.group("q").strip(), m.group("p")
            break
    context = None
    for c in sc.contexts:
        for phrase in c.phrases:
            if text.startswith(phrase + " "):
                text, context = text[len(phrase) :].strip(), c.id
            elif text.endswith(" " + phrase):
                text, context = text[: -len(phrase)].strip(), c.id
            if context:
                return text, named, context
    return text, named, context


def _match(core: str, scenario: str, now: str) -> tuple[_Template, dict[tuple[str, str], str]] | None:
    for tpl in _templates(scenario):
        m = tpl.regex.fullmatch(core)
        if m is None:
            continue
        texts = {slot: m.group(f"s{i}") for i, slot in enumerate(tpl.slots)}
        if _slots_valid(tpl, texts, now):
            return tpl, texts
    return None


def _params(tpl: _Template) -> dict[str, ParamSpec]:
    ps = {p.key: p for p in tpl.first.params}
    if tpl.then is not None:
        ps.update({p.key: p for p in tpl.then.params if p.key not in ps})
    return ps


def _slots_valid(tpl: _Template, texts: dict[tuple[str, str], str], now: str) -> bool:
    params = _params(tpl)
    for (key, form), text in texts.items():
        p = params[key]
        if p.values and _value_from_text(p, text) is None:
            return False
        if p.profile and not p.values and _field_from_hint(p, {(key, form): text}) is None:
            return False
        if p.context and _context_value(p, text, now) is None:
            return False
    return True


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _slot_texts(p: ParamSpec, form: str) -> list[str]:
    """Every text the synthesizer can put in a slot of this parameter (public phrasing data)."""
    ph = phrasing()
    if p.values:
        return [str(e[0]).replace("_", " ") for e in p.values]
    if p.context == "time":
        return [t for t, _ in ph["times"]]
    if p.context == "date":
        return [d for d, _ in ph["dates"] if d != "@weekday"] + list(_WEEKDAYS)
    if p.profile:
        return [h for f in p.profile for h in ph["profile_hints"][f]["noun" if form else "to"]]
    return []


def _value_from_text(p: ParamSpec, text: str) -> Any:
    t = text.strip().lower()
    for entry in p.values:
        if str(entry[0]).replace("_", " ").lower() == t:
            return entry[0]
    return None


def _context_value(p: ParamSpec, text: str, now: str) -> str | None:
    t = text.strip().lower()
    clock = datetime.strptime(now, "%Y-%m-%dT%H:%M")
    ph = phrasing()
    if p.context == "time":
        return next((v for phrase, v in ph["times"] if phrase == t), None)
    for phrase, days in ph["dates"]:
        day = clock + timedelta(days=days)
        if (phrase == "@weekday" and day.strftime("%A").lower() == t) or phrase == t:
            return day.strftime("%Y-%m-%d")
    return None


def _field_from_hint(p: ParamSpec, texts: dict[tuple[str, str], str]) -> str | None:
    hints = phrasing()["profile_hints"]
    for (key, form), text in texts.items():
        if key != p.key:
            continue
        for fld in p.profile:
            if text.strip().lower() in (h.lower() for h in hints[fld]["noun" if form else "to"]):
                return fld
        return None
    return p.profile[0] if len(p.profile) == 1 else None


def _profile_needs(tpl: _Template, texts: dict[tuple[str, str], str]) -> list[str]:
    slotted = {k for k, _ in texts}
    needs = []
    apis = [tpl.first] + ([tpl.then] if tpl.then else [])
    for api in apis:
        for p in api.params:
            if p.profile and (p.required or p.key in slotted):
                fld = _field_from_hint(p, texts)
                if fld and fld not in needs:
                    needs.append(fld)
    return needs


def _coerce(p: ParamSpec, value: Any) -> Any:
    if p.type == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return value


def _facts(profile: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    section = None
    for line in profile.splitlines():
        if not line.startswith("- "):
            section = line
            continue
        if section and section.startswith("Basic information") and ": " in line:
            k, _, v = line[2:].partition(": ")
            facts[k.strip()] = v.strip()
    return facts


def _history(profile: str) -> list[tuple[str, str | None]]:
    """(platform name, situation phrase or None) of each past event in the profile text."""
    events = []
    section = ""
    for line in profile.splitlines():
        if not line.startswith("- "):
            section = line
            continue
        if section.startswith("Past behaviour"):
            parts = [s.strip() for s in line[2:].split("|")]
            if len(parts) == 5:
                events.append((parts[2], None if parts[4] == "-" else parts[4]))
    return events


def _situation_phrase(sc: ScenarioSpec, context: str | None) -> str | None:
    return next((c.phrases[0] for c in sc.contexts if c.id == context), None)
