"""An offline request grammar: many wordings per request, and slot phrases with their gold values.

For the coming dataset version ptenv-v2 (ptenv-v1 does not use it). A request template of an API
or chain is varied by composing synonyms (common and per intent), word order (coordinated slots
swapped, a time before its date, *please* first or last), politeness frames ("Could you ...?"),
indirect requests ("I was wondering if you could ...", "Can you tell me whether ...?") and
greetings, from the phrase banks in ``data/grammar.json``. A variant keeps exactly its template's
slots, so the existing filler fills it. All randomness comes from the ``random.Random`` passed in.

Slot phrases come with their normalised value, ``normalize_*`` invert them, and every phrase has
exactly one reading given the task's clock ``now``:

- Dates: *today*, *tomorrow*, *the day after tomorrow*, *in N days*, *N days from now*, *a week
  from today* (7), *a week from tomorrow* (8), *two weeks from today* (14). A bare weekday (*on
  Friday*, *this coming Friday*) is the first such day after today, said only 2-6 days ahead
  (never where it could mean today or a week out); *next Friday* is never said. A weekday with a
  day of month (*on Friday the 13th*, *on Friday, March 13*) is the first such date from today
  on, said at most 27 days ahead so one date fits; a weekday that does not match is an error.
  After a preposition (:func:`date_form`) only noun forms: *for Friday*, never *for on Friday*.
- Times: quarter hours 07:00-21:45. 12-hour digits carry am/pm (*at 7:30 pm*), 24-hour digits
  only from 13:00 (*at 19:30*), words name the part of the day (*at half past seven in the
  evening*). Twelve o'clock is *noon* / *midday*: never *12 pm*, *midnight* or *twelve ...*.
- Quantities: words or digits (*two*, *2*), if asked *half a dozen* (6) and *a dozen* (12); never
  *a couple of* or *a few*.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from ptenv.tools_registry import ScenarioSpec
from ptenv.tools_registry.specs import SLOT_RE, ChainSpec

#: How a date phrase fits its sentence: on its own ("on Friday") or after a preposition ("for Friday").
DateForm = Literal["noun", "adverb"]


@cache
def _bank() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("data/grammar.json").read_text(encoding="utf-8"))
    return data


def _upper(s: str) -> str:
    return s[:1].upper() + s[1:]


def _lower(s: str) -> str:
    """Lower-case the first letter, except of the pronoun I ("I'd", "I'm")."""
    return s if re.match(r"I\b", s) else s[:1].lower() + s[1:]


def _fill(text: str, **parts: str) -> str:
    """Replace the ``{name}`` placeholders named in ``parts``; slots and the inserted text stay as they are."""
    return re.sub(r"\{(\w+)\}", lambda m: parts.get(m.group(1), m.group(0)), text)


def chain_key(scenario: str, chain: ChainSpec) -> str:
    """The intent key of a chain: ``"<scenario>/<first>><then>[<first_args>]"``."""
    args = ",".join(f"{k}={v}" for k, v in sorted(chain.first_args.items()))
    return f"{scenario}/{chain.first}>{chain.then}" + (f"[{args}]" if args else "")


def intents(scenario: ScenarioSpec) -> dict[str, tuple[str, ...]]:
    """Every request of a scenario with its templates: ``"<scenario>/<api>"`` for an API's own,
    :func:`chain_key` for a chain (an API without templates is no intent)."""
    out = {f"{scenario.id}/{api.key}": api.queries for api in scenario.apis if api.queries}
    for ch in scenario.chains:
        key = chain_key(scenario.id, ch)
        if key in out:
            raise ValueError(f"two chains share the intent key {key!r}")
        out[key] = ch.queries
    return out


def _expand(text: str, intent_key: str) -> list[str]:
    """Every wording of ``text`` under its synonyms and word-order swaps (``text`` itself first).
    Places to vary are taken leftmost, then longest, never overlapping and never inside a slot."""
    bank = _bank()
    groups = [(g, False) for g in bank["synonyms"] + bank["intents"].get(intent_key.split("[")[0], [])]
    groups += [(g, True) for g in bank["start_synonyms"]]  # only as the first words
    slots = list(SLOT_RE.finditer(text))
    found: list[tuple[int, int, tuple[str, ...]]] = []
    for group, start_only in groups:
        for form in dict.fromkeys(f for member in group for f in (member, _upper(member))):
            for m in re.finditer(rf"(?<![\w'-]){re.escape(form)}(?![\w'-])", text):
                if not (start_only and m.start()) and not any(s.start() < m.end() and m.start() < s.end() for s in slots):
                    found.append((m.start(), m.end(), tuple(_upper(x) if form[0].isupper() else x for x in group)))
    # "{a} and {b}" -> "{b} and {a}"; "{date} {time}" -> "{time} {date}", unless after a preposition
    for x, y in itertools.pairwise(slots):
        sep, before = text[x.end() : y.start()], (text[: x.start()].split() or [""])[-1].lower()
        date_time = sep == " " and re.fullmatch(r"(\w+_)?date", x.group(1)) and y.group(1).endswith("time")
        if sep == " and " or (date_time and before not in bank["dates"]["prepositions"]):
            found.append((x.start(), y.end(), (y.group(0) + sep + x.group(0),)))
    pieces: list[tuple[str, ...]] = []
    pos = 0
    for start, end, alternatives in sorted(found, key=lambda p: (p[0], -p[1])):
        if start >= pos:
            pieces += [(text[pos:start],), (text[start:end], *(a for a in alternatives if a != text[start:end]))]
            pos = end
    return ["".join(p) for p in itertools.product(*pieces, (text[pos:],))]


def _imperative(template: str) -> str | None:
    """The template as a bare imperative ("Clear the basket."), or None if it is none."""
    bank, core = _bank(), template
    for prefix in bank["strip_prefixes"]:  # "Please ...", "Can you ...?"
        if core.startswith(prefix):
            core = _upper(core[len(prefix) :]).removesuffix("?") + ("." if core.endswith("?") else "")
            break
    for suffix in bank["strip_suffixes"]:  # "..., please."
        core = core[: -len(suffix)] + "." if core.endswith(suffix) else core
    ok = core.split(" ", 1)[0] in bank["imperative_verbs"] and core.endswith(".") and "?" not in core
    return core if ok else None


def _framed(core: str) -> dict[str, list[str]]:
    """A bare imperative in every frame that fits it, by kind of frame."""
    frames = _bank()["frames"]
    m = re.search(r"\. |; |: ", core)  # a frame wraps the first clause: "Could you X? I'm back Friday."
    head, sep, rest = (core[: m.start()], m.group(0), core[m.end() :]) if m else (core[:-1], "", "")
    v, tail = _lower(head), sep + rest if sep else "."
    out = {"bare": [core], "statement": [_fill(f, v=v) + tail for f in frames["statement"]]}
    if "," not in head and sep != ": ":  # never around a comma splice ("..., I changed my mind")
        out["indirect"] = [_fill(f, v=v) + tail for f in frames["indirect"]]
    if "," not in head and (not sep or (sep != ": " and rest[:1].isalpha())):
        out["question"] = [_fill(f, v=v) + "?" + (" " + _upper(rest) if sep else "") for f in frames["question"]]
    if not sep and "," not in head:
        out["wrapping"] = [_fill(f, v=v, V=head) for f in frames["wrapping"]]
    return out


@cache
def _forms(template: str, intent_key: str) -> tuple[tuple[str, ...], ...]:
    """Every sentence of one template before greetings, grouped by kind of wording (the template first)."""
    core, embedding = _imperative(template), _bank()["embedding"]
    kinds: dict[str, list[str]] = {"bare": [template]}
    for text in _expand(core or template, intent_key):
        wordings = _framed(text) if core else {"bare": [text]}
        start = next((s for s in embedding["starts"] if text.startswith(s)), None)
        if not core and start and text.endswith("?") and not re.search(r"[.?!;:] ", text):  # one question
            q = embedding["starts"][start] + text[len(start) : -1]
            wordings["embedded"] = [_fill(f, q=q) for f in embedding["frames"]]
        for kind, sentences in wordings.items():
            kinds.setdefault(kind, []).extend(sentences)
    return tuple(tuple(dict.fromkeys(group)) for group in kinds.values())


def _greetings(sentence: str) -> tuple[list[str], list[str]]:
    """The sentence after each greeting that fits it, and the thank-yous."""
    bank = _bank()
    openers = bank["openers"] + (bank["question_openers"] if sentence.endswith("?") else [])
    return [_fill(o, s=_lower(sentence), S=sentence) for o in openers], bank["closers"]


def variants(templates: Sequence[str], intent_key: str) -> list[str]:
    """Every surface template of an intent in a fixed order (its first template first); each keeps
    the slots of the template it came from."""
    out: dict[str, None] = {}
    for sentence in (s for template in templates for group in _forms(template, intent_key) for s in group):
        openers, closers = _greetings(sentence)
        for opened in [sentence, *openers]:
            out.update(dict.fromkeys([opened, *(f"{opened} {c}" for c in closers)]))
    return list(out)


def forms(template: str, intent_key: str) -> list[str]:
    """Every sentence of one template before greetings (the template first)."""
    return list(dict.fromkeys(s for group in _forms(template, intent_key) for s in group))


def sentence(templates: Sequence[str], intent_key: str, rng: random.Random) -> str:
    """One of :func:`forms`: a template, a kind of wording, then a wording, drawn from ``rng``."""
    return str(rng.choice(rng.choice(_forms(rng.choice(list(templates)), intent_key))))


def greet(text: str, rng: random.Random) -> str:
    """``text`` maybe after a greeting and maybe before a thank-you, drawn from ``rng``."""
    openers, closers = _greetings(text)
    rates = _bank()["rates"]
    text = rng.choice(openers) if rng.random() < rates["opener"] else text
    return f"{text} {rng.choice(closers)}" if rng.random() < rates["closer"] else text


def ungreet(text: str) -> str:
    """``text`` without the greeting and thank-you :func:`greet` may have added (the inverse)."""
    bank = _bank()
    for closer in bank["closers"]:
        if text.endswith(" " + closer):
            text = text[: -len(closer) - 1]
            break
    # longest first: "Hi there, ..." is not "Hi, ..."
    for opener in sorted(bank["openers"] + bank["question_openers"], key=len, reverse=True):
        head = opener.split("{")[0]
        if text.startswith(head) and len(text) > len(head):
            return _upper(text[len(head) :])
    return text


def realize(templates: Sequence[str], intent_key: str, rng: random.Random) -> str:
    """One of :func:`variants`: a template, a kind of wording, a wording, then maybe a greeting and
    a thank-you, all drawn from ``rng``."""
    return greet(sentence(templates, intent_key, rng), rng)


def _words(n: int) -> str:
    """``n`` (0-99) in words."""
    units, tens = _bank()["numbers"]["units"], _bank()["numbers"]["tens"]
    if not 0 <= n < 100:
        raise ValueError(f"no words for {n}")
    return str(units[n]) if n < 20 else tens[n // 10] + (f"-{units[n % 10]}" if n % 10 else "")


def _number(text: str) -> int:
    """The inverse of :func:`_words`; digits are read too."""
    units, tens = _bank()["numbers"]["units"], _bank()["numbers"]["tens"]
    ten, _, unit = text.partition("-")
    if text.isdigit() or text in units:
        return int(text) if text.isdigit() else int(units.index(text))
    if ten in tens[2:] and (unit in units[1:10] or not unit):
        return 10 * tens.index(ten) + (units.index(unit) if unit else 0)
    raise ValueError(f"not a number: {text!r}")


def _clean(phrase: str) -> str:
    return " ".join(phrase.lower().split()).strip(" .!?")


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    """A phrase pattern of the bank as a regex, one named group per placeholder."""
    bank = _bank()
    hours, dates = "|".join(bank["numbers"]["units"][1:13]), bank["dates"]
    groups = {"n": r"\d+|[a-z]+(?:-[a-z]+)?", "ordinal": r"\d{1,2}(?:st|nd|rd|th)", "day": r"\d{1,2}", "h": r"\d{1,2}"}
    groups |= {"hh": r"\d{2}", "mm": r"\d{2}", "ampm": "am|pm", "hour": hours, "next": hours, "period": "|".join(bank["times"]["periods"])}
    groups |= {"weekday": "|".join(dates["weekdays"]).lower(), "month": "|".join(dates["months"]).lower()}
    out = re.escape(pattern.lower())
    for name, body in groups.items():
        out = out.replace(re.escape("{" + name + "}"), f"(?P<{name}>{body})")
    return re.compile(out)


def _one(phrase: str, readings: set[str]) -> str:
    if len(readings) != 1:
        raise ValueError(f"{phrase!r} has {len(readings)} readings {sorted(readings)}, not one")
    return readings.pop()


def date_form(template: str, key: str) -> DateForm:
    """``"noun"`` if the date slot ``key`` follows a preposition ("for {travel_date}"), else ``"adverb"``."""
    m = re.search(r"(\w+)\s+\{" + re.escape(key) + r"(?::noun)?\}", template)
    return "noun" if m and m.group(1).lower() in _bank()["dates"]["prepositions"] else "adverb"


def _date_texts(pattern: str, offset: int, day: date) -> list[str]:
    names, n = _bank()["dates"], day.day
    ordinal = f"{n}{'th' if 11 <= n <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
    fill = {"weekday": names["weekdays"][day.weekday()], "month": names["months"][day.month - 1], "day": str(n), "ordinal": ordinal}
    return list(dict.fromkeys(_fill(pattern, n=k, **fill) for k in ([_words(offset), str(offset)] if "{n}" in pattern else [""])))


def _date_patterns(form: DateForm, horizon: int) -> list[tuple[str, range]]:
    """The date patterns of ``form``, each with the days ahead it can name up to ``horizon``."""
    spans = [(p, range(p["days"][0], min(p["days"][1], horizon) + 1)) for p in _bank()["dates"]["patterns"]]
    return [(str(p["text"]), days) for p, days in spans if form in p["forms"] and days]


def date_options(now: datetime, form: DateForm = "adverb", horizon: int = 14) -> list[tuple[str, str]]:
    """Every date phrase of the bank up to ``horizon`` days ahead, with its ``YYYY-MM-DD``."""
    days = [(pattern, now.date() + timedelta(days=d), d) for pattern, span in _date_patterns(form, horizon) for d in span]
    return [(text, day.isoformat()) for pattern, day, d in days for text in _date_texts(pattern, d, day)]


def date_phrase(rng: random.Random, now: datetime, form: DateForm = "adverb", horizon: int = 14) -> tuple[str, str]:
    """A date phrase and its ``YYYY-MM-DD``: a kind of phrase, a day it can name, then a wording."""
    pattern, span = rng.choice(_date_patterns(form, horizon))
    offset = rng.choice(span)
    day = now.date() + timedelta(days=offset)
    return rng.choice(_date_texts(pattern, offset, day)), day.isoformat()


def date_pattern(form: DateForm = "adverb") -> str:
    """A regex (no groups) of every date phrase of ``form``, for reading a request's date slot."""
    bodies = [re.sub(r"\(\?P<\w+>", "(?:", _rx(p["text"]).pattern) for p in _bank()["dates"]["patterns"] if form in p["forms"]]
    return "|".join(sorted(bodies, key=len, reverse=True))


def normalize_date(phrase: str, now: datetime) -> str:
    """``YYYY-MM-DD`` of a date phrase said at ``now``; ValueError unless it has exactly one reading."""
    text, today, readings, names = _clean(phrase), now.date(), set[str](), _bank()["dates"]
    for p in names["patterns"]:
        if not (m := _rx(p["text"]).fullmatch(text)):
            continue
        g = m.groupdict()
        weekday = [w.lower() for w in names["weekdays"]].index(g["weekday"]) if "weekday" in g else None
        day: date | None = today + timedelta(days=_number(g["n"]) if "n" in g else p["days"][0])
        if "day" in g or "ordinal" in g:  # the first such date from today on
            dom = int(g.get("day") or g["ordinal"][:-2])
            month = [x.lower() for x in names["months"]].index(g["month"]) + 1 if "month" in g else None
            day = next((d for i in range(366) if (d := today + timedelta(days=i)).day == dom and month in (None, d.month)), None)
        elif weekday is not None:  # the first such day after today
            day, weekday = today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1), None
        if day is not None and weekday in (None, day.weekday()):
            readings.add(day.isoformat())
    return _one(phrase, readings)


def _time_texts(h: int, m: int) -> list[str]:
    times = _bank()["times"]
    if (h, m) == (12, 0):
        return list(times["noon"])
    fill = {"h": str(h % 12 or 12), "hh": f"{h:02d}", "mm": f"{m:02d}", "ampm": "am" if h < 12 else "pm"}
    out = [_fill(t, **fill) for t in times["digits"] if ("{hh}" in t and h >= 13) or ("{ampm}" in t and ("{mm}" in t) == (m > 0))]
    period = [name for name, start in times["periods"].items() if start <= h][-1]
    spoken = [(t, (h + ("{next}" in t)) % 12) for t in times["words"].get(str(m), [])]
    return out + [_fill(t, hour=_words(s), next=_words(s), period=period) for t, s in spoken if s]  # never "twelve"


@cache
def _clock() -> tuple[tuple[str, tuple[str, ...]], ...]:
    times = _bank()["times"]
    first, last = (int(t[:2]) * 60 + int(t[3:]) for t in (times["first"], times["last"]))
    slots = [divmod(t, 60) for t in range(first, last + 1, times["step_minutes"])]
    return tuple((f"{h:02d}:{m:02d}", tuple(_time_texts(h, m))) for h, m in slots)


def time_options() -> list[tuple[str, str]]:
    """Every time phrase of the bank with its ``HH:MM``."""
    return [(text, value) for value, texts in _clock() for text in texts]


def time_phrase(rng: random.Random) -> tuple[str, str]:
    """A time phrase ("at half past seven in the evening") and its ``HH:MM``: a time, then a wording."""
    value, texts = rng.choice(_clock())
    return rng.choice(texts), value


def normalize_time(phrase: str) -> str:
    """``HH:MM`` of a time phrase ("at" optional); ValueError unless it has exactly one reading."""
    text, times, readings = _clean(phrase), _bank()["times"], set[str]()
    text = text if text.startswith("at ") else "at " + text
    patterns = [(t, 0) for t in times["noon"] + times["digits"]] + [(t, int(m)) for m, ts in times["words"].items() for t in ts]
    for pattern, minute in patterns:
        if not (m := _rx(pattern).fullmatch(text)):
            continue
        g = m.groupdict()
        hour, minute = _number(g.get("hh") or g.get("h") or g.get("hour") or g.get("next") or "12"), int(g.get("mm") or minute)
        if "hh" in g:
            ok = 13 <= hour < 24  # 24-hour digits before 13:00 ("at 10:30") could be either
        else:  # "12 pm", "twelve in the morning": noon or midnight?
            ok = 1 <= hour <= 12 and not (hour == 12 and g and (minute == 0 or "period" in g))
            pm = not g or g.get("ampm") == "pm" or times["periods"].get(g.get("period"), 0) >= 12
            hour = hour % 12 + 12 * pm - ("next" in g)
        if ok and minute < 60:
            readings.add(f"{hour:02d}:{minute:02d}")
    return _one(phrase, readings)


def quantity_options(n: int, idioms: bool = False) -> list[str]:
    """Every phrase of the quantity ``n``: words, digits and (``idioms``) "half a dozen" / "a dozen"."""
    words = [_words(n)] if 0 <= n < 100 else []
    return [*words, str(n), *(k for k, v in _bank()["quantities"]["idioms"].items() if idioms and v == n)]


def quantity_phrase(rng: random.Random, n: int, idioms: bool = False) -> str:
    """One phrase of the quantity ``n`` ("two", "2", "half a dozen"), drawn from ``rng``."""
    return rng.choice(quantity_options(n, idioms))


def quantity_pattern() -> str:
    """A regex (no groups) of every quantity phrase, for reading a request's number slot."""
    return "|".join([*(re.escape(k) for k in _bank()["quantities"]["idioms"]), r"\d+", r"[a-z]+(?:-[a-z]+)?"])


def normalize_quantity(phrase: str) -> int:
    """The number a quantity phrase names; ValueError if it names none."""
    text, idioms = _clean(phrase), _bank()["quantities"]["idioms"]
    return int(idioms[text]) if text in idioms else _number(text)
