"""The simulated user behind ``ask_user`` and session feedback.

:class:`SimulatedUser` is the seam: anything with ``reply`` and ``feedback`` can stand in (an
LLM-backed user later). :class:`ScriptedUser` answers deterministically from the hidden profile:

* a question about a profile field ("what is your work address?") gets that field's value, as
  "My <field words> is <value>.";
* "which platform / app do you usually use?" gets the platform the user would pick for the
  current request (its situation included), and "what matters to you?" the trait behind it;
* anything else, and any request for the answer itself ("just tell me what to call"), is declined,
  the latter even when it also names a field.

How a question is matched to fields (:func:`asked_fields`). A question costs the agent one small
charge, so it buys one answer, and only to what it actually asks:

* The question is lower-cased, its whitespace collapsed, curly apostrophes straightened, "e-mail"
  read as "email" and underscores as spaces (so field ids such as "work_address" work too).
* A keyword of :data:`FIELD_WORDS` matches only as whole words: no letter, digit, underscore or
  hyphen right before or after it, so "homework", "agenda", "homepage", "home-made" and
  "CheapSeats" name no field. Its last word may carry a plural or possessive ending, "s", "es",
  "'s" or "s'" ("emails", "addresses", "phone's"); other inflections are listed as keywords.
* Where keywords overlap the longest wins: "work email address" is the work email, not an email
  and an address; "what size shoes" is the shoe size, not the clothing size.
* The bare "address" is the home address unless the question is about work (a work-address
  keyword such as "office", or the word "work" itself: "your address at work"); the bare "size" is
  the clothing size unless shoes are mentioned.
* One field per question: when a question asks several, the user answers the first one asked (in
  the order they appear) and adds :data:`ONE_AT_A_TIME`, so the agent learns to ask again.
* A platform question is recognised by "platform", "app", "site", "website" or "service"; the
  weaker cues "prefer", "which one", "usually/normally use" and "go with" make it one only when no
  field is named ("which seat do you prefer?" asks about the seat).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ptenv.scenarios import Task, UserProfile
from ptenv.scenarios.situations import employer_rule, fallback
from ptenv.tools_registry import ScenarioSpec

#: Words that point at each profile field, matched as whole words (see the module docstring).
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "work_email": ("work email", "company email", "office email", "business email", "work email address", "company email address"),
    "email": ("email", "email address", "mail address"),
    "work_address": ("work address", "office address", "office", "workplace", "where you work", "where do you work"),
    "home_address": ("home address", "home", "where you live", "where do you live", "delivery address", "address"),
    "phone": ("phone", "mobile", "telephone", "number to call", "contact number", "cell", "cellphone", "cell-phone"),
    "full_name": ("full name", "your name", "name"),
    "payment_method": ("payment", "pay with", "how do you pay", "credit card", "debit card", "bank card", "which card", "what card"),
    "diet": ("diet", "dietary", "allergy", "allergies", "allergic", "vegetarian", "vegan"),
    "shoe_size": ("shoe size", "shoe", "size shoe", "size of shoe", "size in shoe", "footwear"),
    "clothing_size": ("clothing size", "clothes size", "size"),
    "seat_preference": ("seat",),
    "passport_number": ("passport",),
    "language": ("language", "subtitle"),
    "city": ("city", "town", "hometown", "home city", "home town", "which place", "where are you based"),
    "company": ("company", "employer", "who do you work for", "company name", "company's name", "name of your company"),
    "occupation": ("occupation", "job", "profession", "what do you do"),
    "age": ("age", "how old"),
}
#: Said after the answer when a question asked about more than one field.
ONE_AT_A_TIME = "I answer one thing at a time; please ask me about the rest separately."

# Hyphens count as part of a word: "home-made" is not about the home address.
_BEFORE = r"(?<![\w-])"
_AFTER = r"(?:'s|s'|es|s)?(?![\w-])"  # an optional plural or possessive, then the word ends
_KEYWORDS = [(re.compile(_BEFORE + re.escape(w) + _AFTER), w, f) for f, ws in FIELD_WORDS.items() for w in ws]
_WORK = re.compile(_BEFORE + "work" + _AFTER)
_ANSWER_SEEKING = re.compile(
    r"\b(what|which) (should i|to|do i) (call|use as (the )?(tool|function))|\bwhich (tool|function|api)\b|\bwhat (tool|function|api|arguments?)\b|\b(gold|correct|right) answer\b|\btell me what to (call|do)\b"
)
# Words only a platform question uses, and words it shares with field questions ("do you prefer an aisle seat?").
_PLATFORM_Q = re.compile(r"\b(platform|app|site|service|website)\b")
_PLATFORM_Q_WEAK = re.compile(r"\b(which one|prefer|usually use|normally use|go with)\b")
_TRAIT_Q = re.compile(r"\b(care (most )?about|matters?|important|priorit)")


_RATHER = re.compile(r"rather have used (.+?)\.")
_WOULD_USE = re.compile(r"I'd use (.+?)\.")
#: A question :meth:`ScriptedUser.reply` answers with the platform for the current request.
PLATFORM_QUESTION = "Which app would you use for this request?"


def _normalize(question: str) -> str:
    q = str(question).lower().replace("\u2019", "'").replace("e-mail", "email").replace("_", " ")
    return " ".join(q.split())


def asked_fields(question: str) -> list[str]:
    """The profile fields a question names, in the order it names them, each once (the rules are
    in the module docstring)."""
    q = _normalize(question)
    hits = [(m.start(), m.end(), w, f) for rx, w, f in _KEYWORDS for m in rx.finditer(q)]
    # longest first, so a phrase claims its words before the shorter keywords inside it
    hits.sort(key=lambda h: (h[0] - h[1], h[0]))
    kept: list[tuple[int, int, str, str]] = []
    for h in hits:
        if all(h[1] <= k[0] or h[0] >= k[1] for k in kept):
            kept.append(h)
    named = {f for *_, f in kept}
    # "work" counts as a cue only where no keyword used it ("who do you work for" is the company)
    rest = q
    for start, end, *_ in kept:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    about_work = "work_address" in named or _WORK.search(rest) is not None
    fields: list[str] = []
    for _, _, word, field in sorted(kept):
        if word == "address" and about_work:
            field = "work_address"
        elif word == "size" and "shoe_size" in named:
            field = "shoe_size"
        if field not in fields:
            fields.append(field)
    return fields


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


def wanted_now(situation: Situation) -> str:
    """The platform (id) the user wants for this request: their choice; on ptenv-v2 their
    employer's where its rule covers the request, or, when a notice rules their choice out, the
    available one they fall back on."""
    policy = employer_rule(situation.user, situation.scenario.id)
    if policy is not None and policy.context == situation.task.context:
        return str(policy.platform)
    pid = situation.user.preferred_platform(situation.scenario, situation.task.context)
    notices = situation.task.notices
    return fallback(situation.scenario, pid, {n.platform for n in notices}) if notices else pid


class ScriptedUser:
    """Deterministic answers from the hidden profile; never the gold answer itself."""

    deterministic = True

    def reply(self, question: str, situation: Situation) -> str:
        q = _normalize(question)
        if not q:
            return "Sorry, what did you want to ask?"
        if _ANSWER_SEEKING.search(q):
            return "I don't know how these apps work inside; please sort out the details yourself."
        fields = asked_fields(q)
        if _PLATFORM_Q.search(q) or (not fields and _PLATFORM_Q_WEAK.search(q)):
            pid = wanted_now(situation)
            return f"For this I'd use {situation.scenario.platform(pid).name}."
        if _TRAIT_Q.search(q):
            pref = situation.user.preferences[situation.scenario.id]
            weights = pref.weights_in(situation.task.context)
            trait = max(weights, key=lambda t: weights[t])
            return f"What matters most to me here is {situation.scenario.traits[trait]}."
        if not fields:
            return "Sorry, I can't help with that."
        # one answer per question, or a question listing every field would buy the whole profile
        answer = f"My {fields[0].replace('_', ' ')} is {situation.user.facts[fields[0]]}."
        return answer if len(fields) == 1 else f"{answer} {ONE_AT_A_TIME}"

    def feedback(self, situation: Situation, platform_right: bool, profile_right: bool, success: bool) -> str:
        if success:
            return "Thanks, that's exactly what I wanted."
        parts = []
        if not platform_right:
            pid = wanted_now(situation)
            parts.append(f"For a request like that I'd rather have used {situation.scenario.platform(pid).name}.")
        if not profile_right:
            parts.append("Some of my details weren't right.")
        if not parts:
            parts.append("That isn't quite what I asked for.")
        return " ".join(parts)
