"""The request grammar for ptenv-v2: enough wordings per intent, slots kept, every slot phrase with
exactly one reading that the normalisers recover, and all randomness from the rng passed in."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from statistics import mean

import pytest

from ptenv.scenarios import grammar
from ptenv.tools_registry import Registry, template_slots

REG = Registry.default()
INTENTS = {key: templates for sc in REG.scenarios.values() for key, templates in grammar.intents(sc).items()}
#: Task clocks: seeded, plus a leap day, the turn of a year and of a short month.
NOWS = [datetime(2026, 3, 2, 8) + timedelta(days=random.Random(f"now/{i}").randint(0, 1500), hours=i % 13) for i in range(40)]
NOWS += [datetime(2028, 2, 28, 9), datetime(2028, 2, 29, 18), datetime(2026, 12, 30, 12), datetime(2027, 2, 27, 7)]


def test_every_request_is_an_intent() -> None:
    """APIs with templates and chains, each once, under distinct keys."""
    expected = sum(1 for sc in REG.scenarios.values() for a in sc.apis if a.queries) + sum(len(sc.chains) for sc in REG.scenarios.values())
    assert len(INTENTS) == expected > 100
    assert sum(map(len, INTENTS.values())) == sum(len(q.queries) for sc in REG.scenarios.values() for q in (*sc.apis, *sc.chains))


def test_at_least_twenty_wordings_per_intent_on_average() -> None:
    counts = [len(grammar.variants(templates, key)) for key, templates in INTENTS.items()]
    assert mean(counts) >= 20
    assert min(counts) >= 20  # greetings alone give every template 20 forms


@pytest.mark.parametrize("key", sorted(INTENTS))
def test_every_variant_keeps_its_templates_slots(key: str) -> None:
    for template in INTENTS[key]:
        forms = grammar.variants([template], key)
        assert forms[0] == template, "the template itself is its first variant"
        slots = Counter(template_slots(template))
        assert all(Counter(template_slots(v)) == slots for v in forms), template


def test_variants_read_as_sentences() -> None:
    """No doubled word, *please* or punctuation, no lower-case start or *i*, no placeholder of the bank."""
    doubled = re.compile(r"\b(\w+) \1\b|please.*please|[.?!,;:]{2}|\s[\s.?!,;:]", re.IGNORECASE)
    for key, templates in INTENTS.items():
        for text in grammar.variants(templates, key):
            assert text[:1].isupper() and text[-1] in ".?!", text
            assert not doubled.search(text) and not re.search(r"\{[vVqsS]\}|\bi\b", text), text


def test_the_grammar_varies_politeness_synonyms_and_word_order() -> None:
    forms = set(grammar.variants(INTENTS["shopping/view_cart"], "shopping/view_cart"))
    assert {"Could you show me my shopping cart?", "I was wondering if you could show me my shopping basket."} <= forms
    assert "Can you tell me what's in my cart at the moment?" in forms  # an indirect question
    sizes = set(grammar.variants(INTENTS["shopping/set_size_profile"], "shopping/set_size_profile"))
    assert "Store {shoe_size:noun} and {clothing_size:noun} in my profile, please." in sizes
    events = grammar.variants(INTENTS["work/create_event"], "work/create_event")
    assert any("{start_time} {date}" in v for v in events) and any("{date} {start_time}" in v for v in events)
    # a time never moves between a preposition and its date ("for at 7 pm tomorrow")
    key = next(k for k in INTENTS if k.startswith("takeout/search_dishes>schedule_order"))
    assert not any("for {delivery_time}" in v for v in grammar.variants(INTENTS[key], key))
    # the chain's meaning (cheapest vs best-rated) never changes
    for key, templates in INTENTS.items():
        if "sort_by=price" in key:
            assert not any("rated" in v for v in grammar.variants(templates, key)), key


def test_realize_draws_a_variant_and_varies_the_wording() -> None:
    key = "travel/search_flights"
    rng = random.Random("grammar/realize")
    texts = [grammar.realize(INTENTS[key], key, rng) for _ in range(200)]
    assert set(texts) <= set(grammar.variants(INTENTS[key], key))
    assert len(set(texts)) >= 15


def test_same_seed_same_text_and_other_seeds_other_texts() -> None:
    keys = sorted(INTENTS)[::7]

    def run(seed: int) -> list[str]:
        rng = random.Random(f"grammar/{seed}")
        now = datetime(2026, 3, 9, 10)
        out = [grammar.realize(INTENTS[k], k, rng) for k in keys]
        out += [grammar.date_phrase(rng, now)[0], grammar.time_phrase(rng)[0], grammar.quantity_phrase(rng, 3, idioms=True)]
        return out

    assert run(1) == run(1)
    assert len({tuple(run(seed)) for seed in range(10)}) == 10


@pytest.mark.parametrize("form", ["adverb", "noun"])
def test_every_date_phrase_has_one_reading_that_normalize_recovers(form: grammar.DateForm) -> None:
    for now in NOWS:
        options = grammar.date_options(now, form, horizon=27)
        readings: dict[str, set[str]] = defaultdict(set)
        for phrase, value in options:
            readings[phrase].add(value)
            assert grammar.normalize_date(phrase, now) == value, (phrase, now)
            assert grammar.normalize_date(phrase.upper() + ".", now) == value
        assert all(len(v) == 1 for v in readings.values())
        assert {(now.date() + timedelta(days=d)).isoformat() for d in range(28)} <= {v for _, v in options}
        rng = random.Random(f"dates/{now}")
        for _ in range(50):
            phrase, value = grammar.date_phrase(rng, now, form)
            assert (phrase, value) in options and grammar.normalize_date(phrase, now) == value
            assert 0 <= (datetime.fromisoformat(value).date() - now.date()).days <= 14


def test_date_phrases_follow_the_unambiguity_rules() -> None:
    weekdays = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    for now in NOWS:
        for form in ("adverb", "noun"):
            for phrase, value in grammar.date_options(now, form, horizon=27):
                ahead = (datetime.fromisoformat(value).date() - now.date()).days
                words = phrase.replace(",", "").split()
                if words[-1] in weekdays:  # "on Friday", "this coming Friday": 2-6 days ahead only
                    assert 2 <= ahead <= 6, (phrase, now)
                assert "next" not in words and "couple" not in words
                assert form == "adverb" or words[0] not in ("on", "in"), phrase
    monday = datetime(2026, 3, 9, 10)
    assert grammar.normalize_date("the day after tomorrow", monday) == "2026-03-11"
    assert grammar.normalize_date("on Friday the 13th", monday) == "2026-03-13"
    assert grammar.normalize_date("Thursday, April 2", monday) == "2026-04-02"
    assert grammar.normalize_date("in three days", monday) == grammar.normalize_date("3 days from now", monday) == "2026-03-12"
    assert grammar.normalize_date("Friday, January 1", datetime(2026, 12, 30)) == "2027-01-01"
    for wrong in ("next Friday", "on Saturday the 13th", "on Friday, February 30", "soon", "in a couple of days"):
        with pytest.raises(ValueError):
            grammar.normalize_date(wrong, monday)


def test_date_form_follows_the_word_before_the_slot() -> None:
    assert grammar.date_form("Book me the cheapest flight to {destination} for {travel_date}.", "travel_date") == "noun"
    assert grammar.date_form("Reserve a room, checking in {check_in_date} for {nights} nights.", "check_in_date") == "noun"
    assert grammar.date_form("What's on my calendar {date}?", "date") == "adverb"
    assert grammar.date_form("Remind me to {task_title}; it's due {due_date}.", "due_date") == "adverb"


def test_every_time_phrase_has_one_reading_that_normalize_recovers() -> None:
    options = grammar.time_options()
    readings: dict[str, set[str]] = defaultdict(set)
    for phrase, value in options:
        readings[phrase].add(value)
        assert grammar.normalize_time(phrase) == value == grammar.normalize_time(phrase.removeprefix("at ").title()), phrase
    assert all(len(v) == 1 for v in readings.values())
    assert len({v for _, v in options}) == 60  # every quarter hour from 07:00 to 21:45
    rng = random.Random("times")
    for _ in range(300):
        phrase, value = grammar.time_phrase(rng)
        assert grammar.normalize_time(phrase) == value
    assert grammar.normalize_time("at half past seven in the evening") == grammar.normalize_time("at 19:30") == "19:30"
    assert grammar.normalize_time("a quarter to nine in the morning") == "08:45"
    assert grammar.normalize_time("at noon") == "12:00"
    for ambiguous in ("at 12 pm", "at 12 am", "at 10:30", "at seven", "half past seven", "at midnight", "twelve in the morning"):
        with pytest.raises(ValueError):
            grammar.normalize_time(ambiguous)


def test_every_quantity_phrase_has_one_reading_that_normalize_recovers() -> None:
    readings: dict[str, set[int]] = defaultdict(set)
    for n in range(1, 100):
        for phrase in grammar.quantity_options(n, idioms=True):
            readings[phrase].add(n)
            assert grammar.normalize_quantity(phrase) == n
    assert all(len(v) == 1 for v in readings.values())
    assert grammar.quantity_options(6) == ["six", "6"]
    assert grammar.normalize_quantity("half a dozen") == 6 and grammar.normalize_quantity("Twenty-one") == 21
    rng = random.Random("quantities")
    assert all(grammar.normalize_quantity(grammar.quantity_phrase(rng, n)) == n for n in range(1, 21) for _ in range(5))
    for vague in ("a couple of", "a few", "several", "twenty-zero"):
        with pytest.raises(ValueError):
            grammar.normalize_quantity(vague)


def test_the_phrase_bank_is_consistent() -> None:
    """Per-intent synonyms name existing intents; no phrase is in two groups of one pool; no
    synonym carries a slot."""
    bank = grammar._bank()
    families = {key.split("[")[0] for key in INTENTS}
    assert set(bank["intents"]) <= families
    for extra in [[], *bank["intents"].values()]:
        for pool in (bank["synonyms"] + extra, bank["start_synonyms"]):
            members = [m for group in pool for m in group]
            assert len(members) == len(set(members))
            assert not any("{" in m or "}" in m for m in members)
