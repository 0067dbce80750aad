"""Filling a request template for one user: slot values, the request's text, the gold arguments.

Shared by the two-call tasks (:mod:`.synthesis`) and the long chains (:mod:`.long_chains`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ptenv.tools_registry import ApiSpec, Backend, ParamSpec, Registry, ScenarioSpec, ToolSpec, template_slots

from . import grammar
from .profiles import UserProfile, phrasing
from .tasks import ArgGold


@dataclass(frozen=True)
class Draw:
    """What one task is drawn for: the world, the platform its calls go to, the user, the clock
    and the randomness (``varied``: ptenv-v2's wordings of dates, times and numbers)."""

    registry: Registry
    sc: ScenarioSpec
    platform: str
    user: UserProfile
    now: datetime
    rng: random.Random
    task_seed: int
    varied: bool = False

    def filler(self, template: str) -> _Filler:
        return _Filler(self.rng, self.user, self.now, template, self.varied)

    def backend(self) -> Backend:
        """The task's backend as an episode starts it (gold calls really run on it)."""
        return Backend(self.registry.world(self.sc.id), seed=self.task_seed, now=self.now.strftime("%Y-%m-%dT%H:%M"))

    def tool(self, api: ApiSpec) -> ToolSpec:
        return self.registry.tool_for(self.sc.id, self.platform, api.key)


class Infeasible(Exception):
    """This template cannot be filled for this user (e.g. their diet is not an allowed value)."""


class _Filler:
    """Fills one template: chooses slot values, renders the text, records gold arguments."""

    def __init__(self, rng: random.Random, user: UserProfile, now: datetime, template: str, varied: bool = False):
        self.rng, self.user, self.now, self.template = rng, user, now, template
        #: ptenv-v2: dates, times and numbers in the request grammar's wordings (:mod:`.grammar`)
        self.varied = varied
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
            n = entry[0]
            # in words only where a word fits: "three nights", "a two-hour slot", never "thirty%"
            worded = self.varied and type(n) is int and re.search(r"\{" + p.key + r"\}(?:[ -]|$)", self.template)
            said = grammar.quantity_phrase(self.rng, n, n in (6, 12)) if worded else str(n)
            self.texts[(p.key, "")] = said.replace("_", " ")
            return ArgGold(accepted=tuple(entry), source="query")
        if p.context and (p.required or slotted) and self.varied:
            if p.context == "date":
                phrase, value = grammar.date_phrase(self.rng, self.now, grammar.date_form(self.template, p.key))
            else:
                phrase, value = grammar.time_phrase(self.rng)
            self.texts[(p.key, "")] = phrase
            return ArgGold(accepted=(value,), source="context")
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
