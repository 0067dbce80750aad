"""Action parsing (every accepted form, and what is refused) and the two scorers' quirks.

Expected figures are derived by hand from PTBench's published metric definitions
(../shared/reference/ptbench.md): each test states the derivation in its docstring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ptenv.core.actions import MAX_ACTION_CHARS, ActionError, parse_action
from ptenv.core.records import prediction_from_text
from ptenv.scoring import GoldAnswer, Prediction, aggregate, combine, score_record
from ptenv.tools_registry import Registry

GOLD = GoldAnswer(
    platform="QuickBite",
    calls=(("search_dishes", {"keyword": ("curry",), "max_price": (15,)}),),
    query_params=("keyword", "max_price"),
    profile_params=(),
    platform_aliases=("quickbite",),
)


def pred(text: str) -> Prediction:
    return prediction_from_text(text, Registry.default())[0]


# -- parsing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '{"name": "search", "arguments": {"q": "x"}}',
        '{"tool": "search", "args": {"q": "x"}}',
        '{"type": "function", "function": {"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}}',
        '{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}}',
        '{"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}}',
        '{"tool_calls": [{"function": {"name": "search", "arguments": {"q": "x"}}}]}',
        '[{"name": "search", "arguments": {"q": "x"}}]',
        '```json\n{"name": "search", "arguments": {"q": "x"}}\n```',
        'Shop:[search(q="x")]',
        "search(q='x')",
        "[search(q=x)]",
    ],
)
def test_every_accepted_form_gives_the_same_call(text: str) -> None:
    action = parse_action(text)
    assert [(c.name, c.arguments) for c in action.calls] == [("search", {"q": "x"})]


def test_ptbench_form_keeps_platform_and_counts_positional() -> None:
    a = parse_action('QuickBite:[search_dishes("x", keyword="curry", max_price=3*5), track(id=1)]')
    assert a.platform == "QuickBite" and a.form == "ptbench"
    assert a.calls[0].arguments == {"keyword": "curry", "max_price": 15} and a.calls[0].positional == 1
    assert a.calls[0].computed and a.notes


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("{", "invalid JSON"),
        ('{"arguments": {}}', "missing tool name"),
        ('{"name": "x", "arguments": "{oops"}', "not valid JSON"),
        ('{"name": "x", "arguments": [1]}', "must be a JSON object"),
        ("P:[f(a=__import__('os').system('true'))]", "only literal values"),
        ("P:[f(a=(lambda: 1)())]", "only literal values"),
        ("P:[f(**kw)]", "kwargs"),
        ("P:[f(a=1)] and more", "could not read"),
        ("[" * 300 + "]" * 300, "nested|JSON object"),
        ("x" * (MAX_ACTION_CHARS + 1), "too long"),
        ("[" + ",".join(['{"name": "f"}'] * 17) + "]", "too many calls"),
    ],
)
def test_refused_actions_say_why(text: str, fragment: str) -> None:
    with pytest.raises(ActionError, match=fragment):
        parse_action(text)


def test_nothing_is_evaluated() -> None:
    """Code in an action is parsed as data or refused; it never runs."""
    import builtins

    before = builtins.__dict__.copy()
    for text in ["P:[f(a=exec('import os'))]", "P:[f(a=open('/etc/passwd').read())]", "f(a=globals())"]:
        with pytest.raises(ActionError):
            parse_action(text)
    assert builtins.__dict__.keys() == before.keys()


# -- inputs that once escaped the parser: each raised out of env.step or reached an observation ---
def _tree(depth: int, leaf: str) -> str:
    """``leaf`` multiplied by itself 2**depth times, as a balanced tree (within the folder's depth)."""
    return leaf if depth == 0 else f"({_tree(depth - 1, leaf)}*{_tree(depth - 1, leaf)})"


@pytest.mark.parametrize(
    "text, fragment",
    [
        # int() of more than 4300 digits raised ValueError out of json.loads
        ('{"name": "finish", "arguments": {"x": ' + "9" * 5000 + "}}", "^number too large"),
        ('{"name": "f", "arguments": "{\\"x\\": ' + "9" * 5000 + '}"}', "^arguments of 'f': number too large"),
        ("P:[f(a=" + "9" * 5000 + ")]", "^could not parse the call list: number too large"),
        # a hex literal has no digit limit; past a double, the strict scorer's float() overflowed
        ("P:[f(a=0x" + "f" * 5000 + ")]", r"^f\(a=\.\.\.\): number too large"),
        ("P:[f(a=" + "9" * 400 + ")]", r"^f\(a=\.\.\.\): number too large"),
        ('{"name": "f", "arguments": {"x": [' + "9" * 400 + "]}}", "^arguments of 'f': number too large"),
        # arguments as a JSON string nested 1000 deep raised RecursionError
        ('{"name": "f", "arguments": "' + "[" * 1000 + "]" * 1000 + '"}', "^arguments of 'f': JSON nested too deeply"),
        ('{"name": "f", "arguments": "' + '{\\"a\\":' * 1000 + "1" + "}" * 1000 + '"}', "^arguments of 'f': JSON nested too deeply"),
        ('{"name": "f", "arguments": {"a": ' + "[" * 500 + "]" * 500 + "}}", "^arguments of 'f': value nested too deeply"),
        # NaN and Infinity were read, and a tool that kept a value returned them: not strict JSON
        ('{"name": "f", "arguments": {"x": NaN}}', "^NaN is not a JSON number"),
        ('{"name": "f", "arguments": {"x": Infinity}}', "^Infinity is not a JSON number"),
        ('{"name": "f", "arguments": {"x": [-Infinity]}}', "^-Infinity is not a JSON number"),
        ('{"name": "f", "arguments": "{\\"x\\": NaN}"}', "^arguments of 'f': NaN is not a JSON number"),
        ('{"name": "f", "arguments": {"x": 1e999}}', "^arguments of 'f': number too large"),
        ('[{"name": "g"}, {"name": "f", "arguments": {"x": -1e999}}]', "^call 2: arguments of 'f': number too large"),
        ("P:[f(a=1e999)]", r"^f\(a=\.\.\.\): number too large"),
        ("P:[f(a=[1, -1e999j])]", r"^f\(a=\.\.\.\): number too large"),
        # folded arithmetic left a double's range (inf; an int float() overflowed on)
        ("P:[f(a=" + _tree(5, "1e12") + ")]", "only literal values"),
        ("P:[f(a=" + _tree(6, "1000000000000") + "/1)]", "only literal values"),
        ("P:[f(a=1e12/1e-300)]", "only literal values"),
        # lone surrogates came back in observations that could not then be written as UTF-8
        ('{"name": "f\\ud800"}', "^the tool name text holds an unpaired surrogate"),
        ('{"name": "f", "arguments": {"q": "a\\udfff"}}', "^arguments of 'f': text holds an unpaired surrogate"),
        ('{"name": "f", "arguments": {"\\ud800": 1}}', "unpaired surrogate"),
        ("P:[f(a='\\ud800')]", r"^f\(a=\.\.\.\): text holds an unpaired surrogate"),
        ('{"name": "f", "arguments": {"q": "\ud800"}}', "^the action text holds an unpaired surrogate"),
        ("\udfffP:[f(a=1)]", "^the action text holds an unpaired surrogate"),
    ],
    ids=lambda v: v[:48],
)
def test_values_no_later_stage_could_handle_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(ActionError, match=fragment):
        parse_action(text)


def test_values_short_of_the_limits_still_parse() -> None:
    deep: Any = 1
    for _ in range(99):  # the arguments object and 99 lists: 100 levels
        deep = [deep]
    a = parse_action(json.dumps({"name": "f", "arguments": {"x": deep}}))
    assert a.calls[0].arguments == {"x": deep}
    big = "9" * 300  # 1e300: within a double's range
    a = parse_action('{"name": "f", "arguments": {"x": ' + big + ', "y": 1.7976931348623157e308, "z": -0.0, "e": "\\ud83d\\ude42 \u00e9"}}')
    assert a.calls[0].arguments == {"x": int(big), "y": 1.7976931348623157e308, "z": 0.0, "e": "\U0001f642 \u00e9"}
    # a JSON string that only names NaN is a string, and so is NaN in the PTBench form (a bare name)
    assert parse_action('{"name": "f", "arguments": {"x": "NaN"}}').calls[0].arguments == {"x": "NaN"}
    assert parse_action("P:[f(x=NaN)]").calls[0].arguments == {"x": "NaN"}
    # PTBench literals that parsed before still do (the tools' validation answers them)
    a = parse_action("P:[f(a=2*3, b=1e12*1e12, c=0xff, d=b'x', e={1, 2}, g=None, h=(1, 2))]")
    assert a.calls[0].arguments == {"a": 6, "b": 1e24, "c": 255, "d": b"x", "e": {1, 2}, "g": None, "h": (1, 2)}


def test_long_attribute_chains_name_a_call() -> None:
    """The name was built recursively: 1500 attributes raised RecursionError."""
    a = parse_action("P:[" + ".".join(["a"] * 1500) + "(x=1)]")
    assert a.calls[0].name == "__".join(["a"] * 1500) and a.calls[0].arguments == {"x": 1}
    assert parse_action("P:[quickbite.search(q=1)]").calls[0].name == "quickbite__search"


@pytest.mark.parametrize(
    "text",
    [
        "```" + "a" * 19_990,  # an unclosed fence: matching it backtracked for seconds
        "a" + " " * 19_990 + ":",  # a platform name and many spaces: the same, for ~1 s
        "A" + " \t" * 9_990 + ":x",
    ],
    ids=["unclosed fence", "spaces before colon", "tabs before colon"],
)
def test_inputs_that_made_the_patterns_backtrack_are_still_refused(text: str) -> None:
    with pytest.raises(ActionError, match="could not read the action"):
        parse_action(text)


# -- scoring: the published scorer's quirks, and our corrections ----------------------------------
def test_exact_answer_scores_one_on_both() -> None:
    for scorer in ("compat", "strict"):
        s = score_record(pred('QuickBite:[search_dishes(keyword="curry", max_price=15)]'), GOLD, scorer)  # type: ignore[arg-type]
        assert (s.format, s.platforms, s.tool_names, s.tool_param_names, s.tool_param_values, s.overall) == (True,) * 6
        assert (s.query_hits, s.query_total) == (2, 2) and s.errors == {}


def test_quirk1_int_compared_with_first_alternative_only() -> None:
    """Gold max_price accepts [15, 20]; predicting 20: compat compares 20 with 15 only -> value
    wrong (tool_param_values 0, query hits 1 of 2); strict accepts any alternative."""
    gold = GoldAnswer("QuickBite", (("search_dishes", {"keyword": ("curry",), "max_price": (15, 20)}),), ("keyword", "max_price"))
    p = pred('QuickBite:[search_dishes(keyword="curry", max_price=20)]')
    c, s = score_record(p, gold, "compat"), score_record(p, gold, "strict")
    assert not c.tool_param_values and c.query_hits == 1 and c.errors == {"value_error": 1}
    assert s.tool_param_values and s.query_hits == 2
    # within 0.01 of the first value is accepted by compat
    assert score_record(pred('QuickBite:[search_dishes(keyword="curry", max_price=15)]'), gold, "compat").tool_param_values


def test_quirk1_floats_need_an_exact_match() -> None:
    gold = GoldAnswer("QuickBite", (("f", {"x": (2.5,)}),), ("x",))
    p = pred("QuickBite:[f(x=2.5000001)]")
    assert not score_record(p, gold, "compat").tool_param_values
    assert score_record(p, gold, "strict").tool_param_values


def test_quirk2_type_mismatch_raises_and_the_record_becomes_a_format_failure() -> None:
    """An int against a string gold raises in the published scorer: format, and every other
    column of the record, is 0 (its query params stay in the denominator). Strict reads both as
    the number 5."""
    gold = GoldAnswer("QuickBite", (("track", {"order_id": ("5",)}),), ("order_id",))
    p = pred("QuickBite:[track(order_id=5)]")
    c = score_record(p, gold, "compat")
    assert (c.format, c.platforms, c.overall, c.query_hits, c.query_total) == (False, False, False, 0, 1)
    s = score_record(p, gold, "strict")
    assert s.format and s.overall
    # and a string against a numeric gold
    assert not score_record(pred('QuickBite:[search_dishes(keyword="curry", max_price="15")]'), GOLD, "compat").format


def test_quirk3_platform_case_sensitive_values_not() -> None:
    p = pred('quickbite:[search_dishes(keyword="CURRY", max_price=15)]')
    c, s = score_record(p, GOLD, "compat"), score_record(p, GOLD, "strict")
    assert not c.platforms and c.tool_param_values and not c.overall
    assert s.platforms and s.overall


def test_quirk4_duplicates_count_twice() -> None:
    """The same call twice: compat's name sets are still equal and each copy earns its query
    hits (4 of 2 = 200%); strict compares call multisets and counts a (function, param) once."""
    p = pred('QuickBite:[search_dishes(keyword="curry", max_price=15), search_dishes(keyword="curry", max_price=15)]')
    c, s = score_record(p, GOLD, "compat"), score_record(p, GOLD, "strict")
    assert c.tool_names and c.overall and c.query_hits == 4
    assert aggregate([c])["acc"]["query_params"] == 2.0
    assert not s.tool_names and s.query_hits == 2


def test_quirk5_query_params_ignore_the_platform() -> None:
    p = pred('LuxeDine:[search_dishes(keyword="curry", max_price=15)]')
    assert score_record(p, GOLD, "compat").query_hits == 2
    assert score_record(p, GOLD, "strict").query_hits == 0


def test_quirk5_unparseable_records_stay_in_the_denominator() -> None:
    good = score_record(pred('QuickBite:[search_dishes(keyword="curry", max_price=15)]'), GOLD, "compat")
    bad = score_record(pred("not an answer"), GOLD, "compat")
    agg = aggregate([good, bad])
    assert agg["acc"]["format"] == 0.5 and agg["acc"]["query_params"] == 2 / 4 and agg["acc"]["overall"] == 0.5


def test_quirk6_error_labels_are_inverted_in_compat_only() -> None:
    """An extra function (predicted, not in gold) is 'func_missing' in compat, 'func_excessive'
    in strict; a missing one the other way round; the same swap for parameters."""
    extra = pred('QuickBite:[search_dishes(keyword="curry", max_price=15), track(order_id="1")]')
    assert score_record(extra, GOLD, "compat").errors == {"func_missing_error": 1}
    assert score_record(extra, GOLD, "strict").errors == {"func_excessive_error": 1}
    two = GoldAnswer("QuickBite", GOLD.calls + (("track", {"order_id": ("1",)}),), ("keyword",))
    missing = pred('QuickBite:[search_dishes(keyword="curry", max_price=15)]')
    assert score_record(missing, two, "compat").errors == {"func_excessive_error": 1}
    assert score_record(missing, two, "strict").errors == {"func_missing_error": 1}
    wrong = pred('QuickBite:[track(order_id="1")]')
    assert score_record(wrong, GOLD, "compat").errors == {"func_wrong_error": 1}
    extra_param = pred('QuickBite:[search_dishes(keyword="curry", max_price=15, diet="vegan")]')
    assert score_record(extra_param, GOLD, "compat").errors == {"param_missing_error": 1}
    assert score_record(extra_param, GOLD, "strict").errors == {"param_excessive_error": 1}


def test_quirk7_positional_dropped_and_bare_names_are_strings() -> None:
    p = pred("QuickBite:[search_dishes(1, keyword=curry, max_price=15)]")
    c = score_record(p, GOLD, "compat")
    assert c.overall  # the positional 1 is dropped; curry reads as "curry"
    assert not score_record(p, GOLD, "strict").format  # strict refuses unnamed arguments


def test_weighted_overall_of_two_splits() -> None:
    right = score_record(pred('QuickBite:[search_dishes(keyword="curry", max_price=15)]'), GOLD, "strict")
    wrong = score_record(pred("nope"), GOLD, "strict")
    a = aggregate([right] * 474)
    b = aggregate([wrong] * 609)
    assert combine([a, b])["acc"]["overall"] == pytest.approx(474 / 1083)
