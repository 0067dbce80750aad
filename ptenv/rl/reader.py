"""Reading a request with the public query templates (no gold involved).

A request's text is what a synthesized query looks like: an optional platform mention, an
optional situation phrase, and one of the scenario's published templates with its slots filled.
This module inverts that: it finds the template and the slot texts, and turns them back into
argument values (query values, dates and times from the clock, profile fields from hints).

:func:`read_request` reads a whole task observation into a :class:`Request`; the scripted agents
and the RL wrappers' candidate actions are both built on it. Everything it reads is public
(registry data, phrasing, what the observation shows), never a task's gold.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from ptenv.scenarios.profiles import phrasing
from ptenv.tools_registry import ApiSpec, ParamSpec, Registry, ScenarioSpec
from ptenv.tools_registry.specs import ChainSpec

#: The clock a request without one is read against.
DEFAULT_NOW = "2026-03-02T10:00"


@dataclass(frozen=True)
class Template:
    pattern: str
    slots: tuple[tuple[str, str], ...]
    first: ApiSpec
    then: ApiSpec | None = None
    chain: ChainSpec | None = None
    #: The literal text before the first slot, lowercased: a request that does not start with it
    #: cannot match, which is known without compiling the regex.
    head: str = ""
    #: How a slot's text becomes a value (param, text, clock), for a wording whose slot texts
    #: are not the templates' own phrases (:mod:`ptenv.rl.wordings`); None: :func:`build_args`'.
    read_slot: Callable[[ParamSpec, str, str], Any] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        # compiled on first use: a process that reads a few requests compiles a few of the 378
        # patterns (their alternations make compiling them all take ~0.2 s)
        return _compile(self.pattern)

    def may_match(self, core: str) -> bool:
        """False only when ``core`` certainly does not match (its start differs from the head;
        decided on ASCII text only, where lowercasing is what ``re.I`` does)."""
        start = core[: len(self.head)]
        return start.lower() == self.head or not (start.isascii() and self.head.isascii())


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I | re.S)


@cache
def templates(scenario: str) -> tuple[Template, ...]:
    sc = Registry.default().scenarios[scenario]
    out = []
    for api in sc.apis:
        out += [compile_template(q, api) for q in api.queries]
    for ch in sc.chains:
        out += [compile_template(q, sc.api(ch.first), sc.api(ch.then), ch) for q in ch.queries]
    # most specific (most literal text) first, so a generic template does not win by accident
    return tuple(sorted(out, key=lambda t: -len(re.sub(r"\(\?P<\w+>\.\+\?\)", "", t.pattern))))


def compile_template(
    text: str,
    first: ApiSpec,
    then: ApiSpec | None = None,
    chain: ChainSpec | None = None,
    slot_regex: Callable[[ParamSpec, str], str | None] | None = None,
    read_slot: Callable[[ParamSpec, str, str], Any] | None = None,
) -> Template:
    """A template as a regex, one group per slot. A slot matches the texts :func:`slot_texts` lists,
    or ``slot_regex(param, form)`` when that gives a pattern (another wording of the values)."""
    params = {p.key: p for p in (then.params if then else ())}
    params.update({p.key: p for p in first.params})
    pattern, slots, pos = "", [], 0
    for i, m in enumerate(re.finditer(r"\{([a-z_][a-z0-9_]*)(?::(noun))?\}", text)):
        own = slot_regex(params[m.group(1)], m.group(2) or "") if slot_regex else None
        choices = slot_texts(params[m.group(1)], m.group(2) or "")
        # each slot matches only what can fill it, so adjacent slots split one way only
        alt = own or ("|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True)) if choices else ".+?")
        pattern += re.escape(text[pos : m.start()]) + f"(?P<s{i}>{alt})"
        slots.append((m.group(1), m.group(2) or ""))
        pos = m.end()
    pattern += re.escape(text[pos:])
    first_slot = re.search(r"\{([a-z_][a-z0-9_]*)(?::(noun))?\}", text)
    head = text[: first_slot.start()] if first_slot else text
    return Template(pattern, tuple(slots), first, then, chain, head.lower(), read_slot)


def call_text(platform: str, api: ApiSpec, args: dict[str, Any]) -> str:
    """The action text of a call of ``api`` on ``platform`` (canonical ``args``, sent by the
    platform's names). The same calls recur (each request in each epoch): remembered by value."""
    return _remembered(_CALL_TEXTS, platform, api, args, lambda: _encode_call(platform, api, args))


_CALL_TEXTS: dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[ApiSpec, Any]] = {}


def call_texts(sc: ScenarioSpec, api: ApiSpec, args: dict[str, Any]) -> tuple[str, ...]:
    """:func:`call_text` on each of the scenario's platforms, in their order: one look-up for the
    three (the candidate actions offer the same call on every platform at every step)."""
    texts: tuple[str, ...] = _remembered(
        _CALL_TEXTS_BY_SCENARIO, sc.id, api, args, lambda: tuple(_encode_call(p.id, api, args) for p in sc.platforms)
    )
    return texts


_CALL_TEXTS_BY_SCENARIO: dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[ApiSpec, Any]] = {}


def _remembered(
    memo: dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[ApiSpec, Any]],
    where: str,
    api: ApiSpec,
    args: dict[str, Any],
    make: Callable[[], Any],
) -> Any:
    """``make()``, remembered by (``where``, the API, the arguments' values) in ``memo`` (bounded);
    arguments that cannot be hashed (a list value) are encoded each time."""
    try:
        key = (where, api.key, tuple(args.items()))
        hit = memo.get(key)
    except TypeError:
        return make()
    if hit is not None and hit[0] is api:  # the same spec (it is held here, so never another one)
        return hit[1]
    made = make()
    if len(memo) >= 16384:
        memo.clear()
    memo[key] = (api, made)
    return made


def _encode_call(platform: str, api: ApiSpec, args: dict[str, Any]) -> str:
    named = {p.name_on(platform): args[p.key] for p in api.params if p.key in args}
    return json.dumps({"name": f"{platform}__{api.name_on(platform)}", "arguments": named})


def strip_query(query: str, sc: ScenarioSpec) -> tuple[str, str | None, str | None]:
    """The request without its platform mention and situation phrase: (core, platform, context)."""
    text, named = strip_mention(query, sc)
    text, context = strip_context(text, sc)
    return text, named, context


def strip_mention(query: str, sc: ScenarioSpec) -> tuple[str, str | None]:
    """The request without the phrase naming a platform, and that platform's name (or None)."""
    text = query.strip()
    names = "|".join(re.escape(p.name) for p in sc.platforms)
    for mention in phrasing()["platform_mentions"]:
        pat = re.escape(mention).replace(r"\{platform\}", f"(?P<p>{names})").replace(r"\{query\}", "(?P<q>.+)")
        m = re.fullmatch(pat, text, re.S)
        if m:
            return m.group("q").strip(), m.group("p")
    return text, None


def strip_context(text: str, sc: ScenarioSpec) -> tuple[str, str | None]:
    """The text without a situation phrase at its start or end, and that situation (or None)."""
    context = None
    for c in sc.contexts:
        for phrase in c.phrases:
            if text.startswith(phrase + " "):
                text, context = text[len(phrase) :].strip(), c.id
            elif text.endswith(" " + phrase):
                text, context = text[: -len(phrase)].strip(), c.id
            if context:
                return text, context
    return text, context


def match_request(core: str, scenario: str, now: str) -> tuple[Template, dict[tuple[str, str], str]] | None:
    for tpl in templates(scenario):
        if not tpl.may_match(core):
            continue
        m = tpl.regex.fullmatch(core)
        if m is None:
            continue
        texts = {slot: m.group(f"s{i}") for i, slot in enumerate(tpl.slots)}
        if slots_valid(tpl, texts, now):
            return tpl, texts
    return None


def template_params(tpl: Template) -> dict[str, ParamSpec]:
    ps = {p.key: p for p in tpl.first.params}
    if tpl.then is not None:
        ps.update({p.key: p for p in tpl.then.params if p.key not in ps})
    return ps


def slots_valid(tpl: Template, texts: dict[tuple[str, str], str], now: str) -> bool:
    params = template_params(tpl)
    for (key, form), text in texts.items():
        p = params[key]
        if p.values and value_from_text(p, text) is None:
            return False
        if p.profile and not p.values and field_from_hint(p, {(key, form): text}) is None:
            return False
        if p.context and context_value(p, text, now) is None:
            return False
    return True


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def slot_texts(p: ParamSpec, form: str) -> list[str]:
    """Every text the synthesizer can put in a slot of this parameter (public phrasing data)."""
    ph = phrasing()
    if p.values:
        return [str(e[0]).replace("_", " ") for e in p.values]
    if p.context == "time":
        return [t for t, _ in ph["times"]]
    if p.context == "date":
        return [d for d, _ in ph["dates"] if d != "@weekday"] + list(WEEKDAYS)
    if p.profile:
        return [h for f in p.profile for h in ph["profile_hints"][f]["noun" if form else "to"]]
    return []


def value_from_text(p: ParamSpec, text: str) -> Any:
    t = text.strip().lower()
    for entry in p.values:
        if str(entry[0]).replace("_", " ").lower() == t:
            return entry[0]
    return None


def context_value(p: ParamSpec, text: str, now: str) -> str | None:
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


def field_from_hint(p: ParamSpec, texts: dict[tuple[str, str], str]) -> str | None:
    hints = phrasing()["profile_hints"]
    for (key, form), text in texts.items():
        if key != p.key:
            continue
        for fld in p.profile:
            if text.strip().lower() in (h.lower() for h in hints[fld]["noun" if form else "to"]):
                return fld
        return None
    return p.profile[0] if len(p.profile) == 1 else None


def profile_needs(tpl: Template, texts: dict[tuple[str, str], str]) -> list[str]:
    slotted = {k for k, _ in texts}
    needs = []
    apis = [tpl.first] + ([tpl.then] if tpl.then else [])
    for api in apis:
        for p in api.params:
            if p.profile and (p.required or p.key in slotted):
                fld = field_from_hint(p, texts)
                if fld and fld not in needs:
                    needs.append(fld)
    return needs


def coerce(p: ParamSpec, value: Any) -> Any:
    if p.type == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return value


def parse_facts(profile: str) -> dict[str, Any]:
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


def parse_history(profile: str) -> list[tuple[str, str | None]]:
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


def situation_phrase(sc: ScenarioSpec, context: str | None) -> str | None:
    return next((c.phrases[0] for c in sc.contexts if c.id == context), None)


def history_platform(sc: ScenarioSpec, context: str | None, history: list[tuple[str, str | None]]) -> str | None:
    """The platform (id) this user used most in the same situation, else by default, else at all."""
    names = {p.name: p.id for p in sc.platforms}
    situation = situation_phrase(sc, context)
    same = Counter(p for p, s in history if s == situation and situation is not None)
    default = Counter(p for p, s in history if s is None)
    for counter in (same, default, Counter(p for p, _ in history)):
        if counter:
            top = counter.most_common(1)[0][0]
            return names.get(top, top)
    return None


def build_args(
    api: ApiSpec,
    texts: dict[tuple[str, str], str],
    now: str,
    facts: dict[str, Any],
    fixed: dict[str, Any],
    read_slot: Callable[[ParamSpec, str, str], Any] | None = None,
) -> dict[str, Any]:
    """Canonical arguments of ``api`` from the request's slot texts (read by the template's
    ``read_slot`` if it has one), the clock and the visible profile facts (a profile argument
    whose field is not visible is left out)."""
    slotted = {k for k, _ in texts}
    out: dict[str, Any] = {}
    for p in api.params:
        if p.key in fixed:
            out[p.key] = fixed[p.key]
        elif read_slot is not None and (p.values or p.context) and p.key in slotted:
            out[p.key] = read_slot(p, texts[(p.key, "")], now)
        elif p.values and p.key in slotted:
            out[p.key] = value_from_text(p, texts[(p.key, "")])
        elif p.context and p.key in slotted:
            out[p.key] = context_value(p, texts[(p.key, "")], now)
        elif p.profile and (p.required or p.key in slotted):
            fld = field_from_hint(p, texts)
            if fld in facts:
                out[p.key] = coerce(p, facts[fld])
    return out
