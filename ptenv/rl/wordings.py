"""Reading ptenv-v2's varied requests: the request grammar (:mod:`ptenv.scenarios.grammar`) inverted.

A v2 request is one of a template's wordings (:func:`~ptenv.scenarios.grammar.forms`: synonyms,
word order, politeness frames, indirect questions) with its slots filled by the grammar's date,
time and number phrases, then maybe a situation phrase, a greeting and a thank-you, and a
platform mention. This reader undoes each layer in the opposite order (mention, greeting,
situation) and matches the rest against every wording of the scenario's templates, compiled on
first use (about 14,700 wordings in all; a request's first word picks the few worth trying).
Slot texts are turned into values by the grammar's own ``normalize_*``, which give one reading
or none.

:func:`ptenv.rl.reader.read_request` falls back to it when no template reads a request as
written, so every reader of requests (the scripted agents, the RL candidates, the reference
solver) reads v2's wordings. It reads only public data (the registry's templates, the grammar's
banks), never a task's gold.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from ptenv.rl.reader import (
    Template,
    compile_template,
    field_from_hint,
    strip_context,
    strip_mention,
    template_params,
    value_from_text,
)
from ptenv.scenarios import grammar
from ptenv.tools_registry import ApiSpec, ParamSpec, Registry, ScenarioSpec


def _is_count(p: ParamSpec) -> bool:
    """A parameter whose values are whole numbers (said in words or digits on v2)."""
    return bool(p.values) and all(type(e[0]) is int for e in p.values)


@cache
def _time_regex() -> str:
    return "|".join(re.escape(t) for t, _ in sorted(grammar.time_options(), key=lambda o: -len(o[0])))


def slot_regex(text: str) -> Any:
    """The slot patterns of a wording ``text`` (None: the template's own phrases)."""

    def pattern(p: ParamSpec, form: str) -> str | None:
        if _is_count(p):
            return grammar.quantity_pattern()
        if p.context == "date":
            return grammar.date_pattern(grammar.date_form(text, p.key))
        if p.context == "time":
            return _time_regex()
        return None

    return pattern


@cache
def varied_templates(scenario: str) -> dict[str, tuple[Template, ...]]:
    """Every wording of the scenario's templates, by the first word of their literal start
    (``""``: a wording that starts with a slot), most literal text first."""
    sc = Registry.default().scenarios[scenario]
    shapes: list[tuple[str, ApiSpec, ApiSpec | None, Any, tuple[str, ...]]] = [
        (f"{sc.id}/{api.key}", api, None, None, api.queries) for api in sc.apis if api.queries
    ]
    shapes += [(grammar.chain_key(sc.id, ch), sc.api(ch.first), sc.api(ch.then), ch, ch.queries) for ch in sc.chains]
    out: dict[str, list[Template]] = {}
    for key, first, then, chain, queries in shapes:
        for query in queries:
            for text in grammar.forms(query, key):
                tpl = compile_template(text, first, then, chain, slot_regex(text), slot_value)
                out.setdefault(_first_word(tpl.head), []).append(tpl)
    literal = re.compile(r"\(\?P<\w+>(?:[^()]|\([^()]*\))*\)")
    return {w: tuple(sorted(ts, key=lambda t: -len(literal.sub("", t.pattern)))) for w, ts in out.items()}


def _first_word(text: str) -> str:
    words = text.split(" ", 1)
    return words[0].lower() if len(words) > 1 else ""


def slot_value(p: ParamSpec, text: str, now: str) -> Any:
    """The value a slot text names for ``p`` (None if it names none, or several)."""
    try:
        if _is_count(p):
            n = grammar.normalize_quantity(text)
            return n if any(e[0] == n for e in p.values) else None
        if p.context == "date":
            return grammar.normalize_date(text, datetime.strptime(now, "%Y-%m-%dT%H:%M"))
        if p.context == "time":
            return grammar.normalize_time(text)
    except ValueError:
        return None
    return value_from_text(p, text) if p.values else None


def _valid(tpl: Template, texts: dict[tuple[str, str], str], now: str) -> bool:
    params = template_params(tpl)
    for (key, form), text in texts.items():
        p = params[key]
        if (p.values or p.context) and slot_value(p, text, now) is None:
            return False
        if p.profile and not p.values and field_from_hint(p, {(key, form): text}) is None:
            return False
    return True


def peel(query: str, sc: ScenarioSpec) -> tuple[str, str | None, str | None]:
    """A v2 request without its platform mention, greeting and situation phrase: (core, the
    named platform's id, the situation)."""
    text, named = strip_mention(query, sc)
    text, context = strip_context(grammar.ungreet(text), sc)
    return text, next((p.id for p in sc.platforms if p.name == named), None), context


def match_varied(core: str, scenario: str, now: str) -> tuple[Template, dict[tuple[str, str], str]] | None:
    """The wording a v2 request (without its mention, greeting and situation: :func:`peel`) fills,
    and its slot texts; None if it fills none."""
    buckets = varied_templates(scenario)
    for tpl in (*buckets.get(_first_word(core), ()), *buckets.get("", ())):
        if not tpl.may_match(core) or (m := tpl.regex.fullmatch(core)) is None:
            continue
        texts = {slot: m.group(f"s{i}") for i, slot in enumerate(tpl.slots)}
        if _valid(tpl, texts, now):
            return tpl, texts
    return None
