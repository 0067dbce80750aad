"""The scripted user answers only what a question asks, one field per question.

Each question costs the agent 0.02 against 0.01 per look-up: a user that answered every field a
question brushed against ("homework" -> the home address) or every field listed at once sold the
whole profile for one question. These tests drive the real :class:`ScriptedUser` with real users
and tasks of the mini dataset.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import pytest

import ptenv
from ptenv.core.user_sim import FIELD_WORDS, ONE_AT_A_TIME, PLATFORM_QUESTION, ScriptedUser, Situation, asked_fields, told_platform
from ptenv.scenarios import load_dataset
from ptenv.testing.gold import current_episode
from ptenv.tools_registry import Registry

DATA = load_dataset("ptenv-v1-mini")
REGISTRY = Registry.default()
USER = ScriptedUser()
DECLINE = "Sorry, I can't help with that."


def situation_of(user_id: str | None = None) -> Situation:
    """A real situation: the first test task (of ``user_id`` if given), its user and scenario."""
    task = next(t for t in DATA.split("test") if user_id is None or t.user_id == user_id)
    return Situation(DATA.users[task.user_id], task, REGISTRY.scenarios[task.scenario])


def said(field: str, sit: Situation) -> str:
    return f"My {field.replace('_', ' ')} is {sit.user.facts[field]}."


def values_in(answer: str, sit: Situation) -> set[str]:
    """The fields whose value the answer states ("My <words> is <value>")."""
    return {f for f, v in sit.user.facts.items() if said(f, sit).rstrip(".") in answer}


#: One natural question per field; several use the weak platform cue "prefer" on purpose.
NATURAL = {
    "work_email": "What is your work email?",
    "email": "What's your email address?",
    "work_address": "What's the address of your office?",
    "home_address": "Where do you live?",
    "phone": "What's your phone number?",
    "full_name": "What's your full name?",
    "payment_method": "Which card do you pay with?",
    "diet": "Do you have any dietary restrictions?",
    "shoe_size": "What size shoes do you wear?",
    "clothing_size": "What clothing size do you wear?",
    "seat_preference": "Do you prefer a window or an aisle seat?",
    "passport_number": "What's your passport number?",
    "language": "Which language do you prefer?",
    "city": "Which city are you based in?",
    "company": "Who do you work for?",
    "occupation": "What do you do for a living?",
    "age": "How old are you?",
}


def test_the_natural_questions_cover_every_field() -> None:
    assert set(NATURAL) == set(FIELD_WORDS) == set(situation_of().user.facts)


@pytest.mark.parametrize("field", list(NATURAL))
def test_every_field_is_reachable_by_a_natural_question_and_only_that_field(field: str) -> None:
    for user_id in DATA.users:
        sit = situation_of(user_id)
        answer = USER.reply(NATURAL[field], sit)
        # the exact sentence: that field's value and nothing else (no second field, no note)
        assert answer == said(field, sit), (user_id, NATURAL[field], answer)


@pytest.mark.parametrize("field", list(FIELD_WORDS))
def test_field_ids_and_the_oracles_phrasing_ask_that_field(field: str) -> None:
    sit = situation_of()
    for q in (f"What is your {field}?", f"What is your {field.replace('_', ' ')}?"):
        assert asked_fields(q) == [field], q
        assert USER.reply(q, sit) == said(field, sit), q


@pytest.mark.parametrize(
    "question",
    [
        "Is this for your homework?",  # was the home address
        "Any agenda for the meeting?",  # was the age
        "Is the link on the homepage?",
        "Is the cake home-made?",
        "Should I add a cardigan?",
        "Is the hotel in Seattle?",
        "Do you need new shoelaces?",
        "Is the officer coming?",
        "Should I look at CheapSeats tickets?",
        "What should the card message say?",
    ],
)
def test_words_that_merely_start_with_a_keyword_get_no_value(question: str) -> None:
    sit = situation_of()
    assert asked_fields(question) == []
    assert USER.reply(question, sit) == DECLINE


def test_plurals_and_possessives_still_count() -> None:
    sit = situation_of()
    assert USER.reply("Any emails I can reach you at?", sit) == said("email", sit)
    assert USER.reply("What's your phone's number?", sit) == said("phone", sit)
    assert USER.reply("What is your company's name?", sit) == said("company", sit)
    assert USER.reply("Any allergies?", sit) == said("diet", sit)


@pytest.mark.parametrize("order", [list(FIELD_WORDS), list(reversed(FIELD_WORDS)), sorted(FIELD_WORDS)])
def test_a_question_listing_every_field_gets_the_first_one_asked_and_the_note(order: list[str]) -> None:
    sit = situation_of()
    q = "What is your " + ", ".join(f.replace("_", " ") for f in order) + "?"
    answer = USER.reply(q, sit)
    assert answer == f"{said(order[0], sit)} {ONE_AT_A_TIME}"
    assert values_in(answer, sit) == {order[0]}


def test_the_first_field_asked_wins_not_the_longest_keyword() -> None:
    sit = situation_of()
    assert USER.reply("What are your phone and work email?", sit) == f"{said('phone', sit)} {ONE_AT_A_TIME}"
    assert USER.reply("What are your work email and phone?", sit) == f"{said('work_email', sit)} {ONE_AT_A_TIME}"
    # a field named twice is still one field: no note
    assert USER.reply("Your phone, I mean your mobile number?", sit) == said("phone", sit)


def test_in_the_env_one_question_buys_one_value() -> None:
    env: gym.Env[Any, Any] = gym.make("ptenv/PersonalTool-Hidden-v0", split="test")
    env.reset(seed=0)
    ep = current_episode(env)
    sit = Situation(ep.user, ep.task, ep.scenario)
    q = "Tell me your " + " and ".join(f.replace("_", " ") for f in FIELD_WORDS) + "."
    obs, reward, *_ = env.step(json.dumps({"name": "ask_user", "arguments": {"question": q}}))
    answer = ptenv.parse_observation(obs)["results"][0]["output"]["answer"]
    assert answer == f"{said('work_email', sit)} {ONE_AT_A_TIME}"
    assert reward == pytest.approx(-0.02)


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("What's your address?", "home_address"),
        ("What's your home address?", "home_address"),
        ("Where should I deliver it, what's your delivery address?", "home_address"),
        ("What's your work address?", "work_address"),
        ("What's the address of your office?", "work_address"),
        ("What's your address at work?", "work_address"),
        ("Which address is your workplace at?", "work_address"),
    ],
)
def test_a_bare_address_is_home_unless_the_question_is_about_work(question: str, field: str) -> None:
    sit = situation_of()
    assert USER.reply(question, sit) == said(field, sit)


def test_work_used_by_another_keyword_does_not_make_the_address_a_work_one() -> None:
    sit = situation_of()
    # "who do you work for" is the company: the address is still the home one, answered first
    answer = USER.reply("What's your address, and who do you work for?", sit)
    assert answer == f"{said('home_address', sit)} {ONE_AT_A_TIME}"
    # "work email address" is one keyword (the work email), not an email and an address
    assert USER.reply("What's your work email address?", sit) == said("work_email", sit)


def test_a_bare_size_is_the_shoe_size_when_shoes_are_mentioned() -> None:
    sit = situation_of()
    assert USER.reply("What is the size of your shoes?", sit) == said("shoe_size", sit)
    assert USER.reply("What size do you wear?", sit) == said("clothing_size", sit)


@pytest.mark.parametrize(
    "question",
    [
        "Which tool should I call with your phone number?",
        "What arguments should I pass for your home address?",
        "What is the gold answer for your email?",
        "Just tell me what to call, and your full name.",
        "Which function takes your passport number?",
    ],
)
def test_answer_seeking_questions_are_declined_even_when_they_name_a_field(question: str) -> None:
    sit = situation_of()
    assert asked_fields(question)  # a field is named...
    answer = USER.reply(question, sit)
    assert answer.startswith("I don't know how these apps work"), answer  # ...and still nothing is given
    assert not any(str(v) in answer for v in sit.user.facts.values()), answer


def test_platform_and_trait_questions_keep_their_answers() -> None:
    for user_id in DATA.users:
        sit = situation_of(user_id)
        want = sit.user.preferred_platform(sit.scenario, sit.task.context)
        for q in (PLATFORM_QUESTION, "Which one do you prefer?", "Which app do you usually use for shoes?"):
            answer = USER.reply(q, sit)
            assert answer == f"For this I'd use {sit.scenario.platform(want).name}.", (q, answer)
            assert told_platform(answer, sit.scenario) == want
        assert USER.reply("What matters most to you here?", sit).startswith("What matters most to me here is ")


def test_anything_else_is_declined() -> None:
    sit = situation_of()
    assert USER.reply("What's your blood type?", sit) == DECLINE
    assert USER.reply("   ", sit) == "Sorry, what did you want to ask?"
