"""Reading a long-chain request (ptenv-v2: 3-4 calls), and stepping through its calls.

:func:`match_long_chain` finds which wording of which long chain template
(``ptenv.scenarios.long_chains``, worded by the request grammar) a request fills, and its slot
texts, as :mod:`ptenv.rl.wordings` reads the other v2 requests: each slot matches only what can
fill it, read with the grammar's normalisers. :class:`LongChainPlan` then gives
the calls one at a time: each step's arguments from the request (via
:func:`ptenv.rl.reader.build_args`), the visible profile facts, an earlier step's argument of the
same name, and the values bound to earlier outputs. It reads only public data (templates, phrasing,
what the calls returned), never the gold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ptenv.rl.reader import build_args, call_text, field_from_hint, slot_texts
from ptenv.rl.wordings import slot_regex, slot_value
from ptenv.scenarios import grammar
from ptenv.scenarios.long_chains import LongChain, long_chains, resolve, slot_params
from ptenv.tools_registry import ParamSpec, Registry, ScenarioSpec, template_slots
from ptenv.tools_registry.specs import SLOT_RE


@dataclass(frozen=True)
class LongTemplate:
    chain: LongChain
    text: str
    pattern: re.Pattern[str]
    slots: tuple[tuple[str, str], ...]
    #: Slot key -> the parameter whose values, dates or profile hints fill it.
    params: tuple[tuple[str, ParamSpec], ...]


def compile_long_template(sc: ScenarioSpec, chain: LongChain, text: str) -> LongTemplate:
    params = slot_params(sc, chain, text)
    own = slot_regex(text)
    pattern, pos = "", 0
    for i, m in enumerate(SLOT_RE.finditer(text)):
        p = params[m.group(1)]
        choices = slot_texts(p, m.group(2) or "")
        alt = own(p, m.group(2) or "") or ("|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True)) if choices else ".+?")
        pattern += re.escape(text[pos : m.start()]) + f"(?P<s{i}>{alt})"
        pos = m.end()
    pattern += re.escape(text[pos:])
    slots = tuple(template_slots(text))
    return LongTemplate(chain, text, re.compile(pattern, re.I | re.S), slots, tuple(params.items()))


@cache
def long_templates(scenario_id: str) -> tuple[LongTemplate, ...]:
    """Every wording of every long chain template of the scenario, most literal text first."""
    sc = Registry.default().scenarios[scenario_id]
    out = [
        compile_long_template(sc, ch, text)
        for ch in long_chains(scenario_id)
        for q in ch.queries
        for text in grammar.forms(q, f"{sc.id}/{ch.id}")
    ]
    return tuple(sorted(out, key=lambda t: -len(SLOT_RE.sub("", t.text))))


def _slot_valid(p: ParamSpec, key: str, form: str, text: str, now: str) -> bool:
    if p.values or p.context:
        return slot_value(p, text, now) is not None
    return field_from_hint(p, {(key, form): text}) is not None


def match_long_chain(core_text: str, scenario_id: str, now: str) -> tuple[LongChain, dict[tuple[str, str], str]] | None:
    """The long chain a request (without its platform mention, greeting and situation phrase)
    fills, and its slot texts by ``(key, form)``; None when it fills none."""
    core = core_text.strip()
    for tpl in long_templates(scenario_id):
        m = tpl.pattern.fullmatch(core)
        if m is None:
            continue
        texts = {slot: m.group(f"s{i}") for i, slot in enumerate(tpl.slots)}
        params = dict(tpl.params)
        if all(_slot_valid(params[k], k, f, t, now) for (k, f), t in texts.items()):
            return tpl.chain, texts
    return None


class LongChainPlan:
    """The calls of one long-chain request, one at a time.

    ``texts`` are the request's slot texts (from :func:`match_long_chain`), ``facts`` the visible
    profile facts (field -> value, as :func:`ptenv.rl.reader.build_args` takes them), ``platform``
    the platform the calls go to. :meth:`next_call` is a pure function of the outputs so far.
    """

    def __init__(self, chain: LongChain, texts: dict[tuple[str, str], str], now: str, facts: dict[str, Any], platform: str):
        self.chain, self.texts, self.now, self.facts, self.platform = chain, dict(texts), now, dict(facts), platform
        self.scenario = Registry.default().scenarios[chain.scenario]

    def next_call(self, previous_outputs: list[dict[str, Any]]) -> dict[str, Any] | None:
        """``{"api": key, "args": {canonical}}`` of the step after ``previous_outputs`` (one output
        per call made so far); None when every step is done, or when an output lacks a value the
        next step binds (a call failed or found nothing)."""
        n = len(previous_outputs)
        if n >= len(self.chain.steps):
            return None
        chosen: dict[str, Any] = {}
        args: dict[str, Any] = {}
        for step in self.chain.steps[: n + 1]:
            api = self.scenario.api(step.api)
            fixed = dict(step.args)
            for key, (j, path) in step.bind.items():
                value = resolve(previous_outputs[j], path)
                if value is None:
                    return None
                fixed[key] = value
            for p in api.params:  # one request: a later step reuses an earlier step's value
                if p.key not in fixed and p.key in chosen:
                    fixed[p.key] = chosen[p.key]
            args = build_args(api, self.texts, self.now, self.facts, fixed, slot_value)
            for key, value in args.items():
                chosen.setdefault(key, value)
        return {"api": self.chain.steps[n].api, "args": args}

    def next_call_text(self, previous_outputs: list[dict[str, Any]]) -> str | None:
        """The next call as action text (:func:`ptenv.rl.reader.call_text`), or None."""
        call = self.next_call(previous_outputs)
        return None if call is None else call_text(self.platform, self.scenario.api(call["api"]), call["args"])

    def profile_needs(self) -> list[str]:
        """The profile fields the calls take (to look up when the profile is hidden)."""
        needs: list[str] = []
        slotted = {k for k, _ in self.texts}
        for step in self.chain.steps:
            for p in self.scenario.api(step.api).params:
                if p.profile and (p.required or p.key in slotted) and p.key not in step.args and p.key not in step.bind:
                    fld = field_from_hint(p, self.texts)
                    if fld and fld not in needs:
                        needs.append(fld)
        return needs
