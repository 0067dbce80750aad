"""The simulated user behind ``ask_user`` and session feedback.

:class:`SimulatedUser` is the seam: anything with ``reply`` and ``feedback`` can stand in (an
LLM-backed user later). :class:`ScriptedUser` answers deterministically from the hidden profile:

* questions about profile fields ("what is your work address?") get the value;
* "which platform / app do you usually use?" gets the platform the user would pick for the
  current request (its situation included), and "what matters to you?" the trait behind it;
* anything else, and any request for the answer itself ("just tell me what to call"), is declined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ptenv.scenarios import Task, UserProfile
from ptenv.tools_registry import ScenarioSpec

#: Words that point at each profile field. Longer phrases are tried first ("work email" before "email").
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "work_email": ("work email", "work e-mail", "company email", "office email", "business email"),
    "email": ("email", "e-mail", "mail address"),
    "work_address": ("work address", "office address", "office", "workplace", "where you work", "where do you work"),
    "home_address": ("home address", "home", "where you live", "where do you live", "your address", "delivery address", "address"),
    "phone": ("phone", "mobile", "telephone", "number to call", "contact number", "cell"),
    "full_name": ("full name", "your name", "name"),
    "payment_method": ("payment", "pay with", "how do you pay", "card"),
    "diet": ("diet", "dietary", "allerg", "vegetarian", "vegan"),
    "shoe_size": ("shoe size", "shoe"),
    "clothing_size": ("clothing size", "clothes size", "size"),
    "seat_preference": ("seat",),
    "passport_number": ("passport",),
    "language": ("language", "subtitle"),
    "city": ("city", "town", "which place", "where are you based"),
    "company": ("company", "employer", "who do you work for"),
    "occupation": ("occupation", "job", "profession", "what do you do"),
    "age": ("age", "how old"),
}
_ORDERED = sorted(((w, f) for f, ws in FIELD_WORDS.items() for w in ws), key=lambda x: -len(x[0]))
_ANSWER_SEEKING = re.compile(
    r"\b(what|which) (should i|to|do i) (call|use as (the )?(tool|function))|\bwhich (tool|function|api)\b|\bwhat (tool|function|api|arguments?)\b|\b(gold|correct|right) answer\b|\btell me what to (call|do)\b"
)
_PLATFORM_Q = re.compile(r"\b(platform|app|site|service|website|which one|prefer|usually use|normally use|go with)\b")
_TRAIT_Q = re.compile(r"\b(care (most )?about|matters?|important|priorit)")


_RATHER = re.compile(r"rather have used (.+?)\.")
_WOULD_USE = re.compile(r"I'd use (.+?)\.")
#: A question :meth:`ScriptedUser.reply` answers with the platform for the current request.
PLATFORM_QUESTION = "Which app would you use for this request?"


def wanted_platform(feedback: str, scenario: ScenarioSpec, chosen: str | None) -> str | None:
    """The platform (id) feedback says the user wanted: the one it names ("I'd rather have used
    X"), else the one chosen (no complaint about the platform). Reads :meth:`ScriptedUser.feedback`."""
    m = _RATHER.search(feedback)
    if m is None:
        return chosen
    return {p.name: p.id for p in scenario.platforms}.get(m.group(1))


def told_platform(answer: str, scenario: ScenarioSpec) -> str | None:
    """The platform (id) an answer to :data:`PLATFORM_QUESTION` names ("For this I'd use X."),
    else None. Reads :meth:`ScriptedUser.reply`."""
    m = _WOULD_USE.search(answer)
    return {p.name: p.id for p in scenario.platforms}.get(m.group(1)) if m else None


@dataclass(frozen=True)
class Situation:
    """What the user knows while answering: who they are and what they asked for."""

    user: UserProfile
    task: Task
    scenario: ScenarioSpec


class SimulatedUser(Protocol):
    """The seam for simulated users (scripted here; an LLM-backed one can implement the same)."""

    #: Whether replies are reproducible given the same inputs (an LLM user is not).
    deterministic: bool

    def reply(self, question: str, situation: Situation) -> str: ...

    def feedback(self, situation: Situation, platform_right: bool, profile_right: bool, success: bool) -> str: ...


class ScriptedUser:
    """Deterministic answers from the hidden profile; never the gold answer itself."""

    deterministic = True

    def reply(self, question: str, situation: Situation) -> str:
        q = " ".join(str(question).lower().split())
        if not q:
            return "Sorry, what did you want to ask?"
        if _ANSWER_SEEKING.search(q):
            return "I don't know how these apps work inside; please sort out the details yourself."
        facts = situation.user.facts
        if _PLATFORM_Q.search(q):
            pid = situation.user.preferred_platform(situation.scenario, situation.task.context)
            return f"For this I'd use {situation.scenario.platform(pid).name}."
        if _TRAIT_Q.search(q):
            pref = situation.user.preferences[situation.scenario.id]
            weights = pref.weights_in(situation.task.context)
            trait = max(weights, key=lambda t: weights[t])
            return f"What matters most to me here is {situation.scenario.traits[trait]}."
        answers = []
        seen: set[str] = set()
        for word, field in _ORDERED:
            if field in seen or not re.search(r"\b" + re.escape(word), q):
                continue
            # "address" alone is the home address unless work is mentioned
            if field == "home_address" and "work_address" in seen:
                continue
            seen.add(field)
            q = q.replace(word, " ")
            answers.append(f"My {field.replace('_', ' ')} is {facts[field]}.")
        if answers:
            return " ".join(answers)
        return "Sorry, I can't help with that."

    def feedback(self, situation: Situation, platform_right: bool, profile_right: bool, success: bool) -> str:
        if success:
            return "Thanks, that's exactly what I wanted."
        parts = []
        if not platform_right:
            pid = situation.user.preferred_platform(situation.scenario, situation.task.context)
            parts.append(f"For a request like that I'd rather have used {situation.scenario.platform(pid).name}.")
        if not profile_right:
            parts.append("Some of my details weren't right.")
        if not parts:
            parts.append("That isn't quite what I asked for.")
        return " ".join(parts)
