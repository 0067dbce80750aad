"""Parsing agent actions: JSON tool calls, provider tool-call shapes, and PTBench's text form.

Accepted forms (any one per action):

* a JSON object ``{"name" | "tool": ..., "arguments" | "args" | "input" | "parameters": {...}}``,
  or a list of them;
* provider shapes: OpenAI ``{"type": "function", "function": {"name", "arguments": "<json>"}}``,
  ``{"tool_calls": [...]}``, Anthropic ``{"type": "tool_use", "name", "input"}``;
* PTBench's ``Platform:[func(a=1, b="x"), ...]`` (or a bare call / list of calls).

Only ``json`` and ``ast`` parse; nothing an agent wrote is ever evaluated. Arithmetic on numbers
(``2*3``) is folded by a tiny bounded evaluator, since PTBench's scorer accepts it; any other
expression is refused. Inputs are capped in size and in the number of calls.

Whatever parses is also something every later stage can handle, so that no action can make
``step`` raise or an observation stop being strict JSON (:func:`_value_problem`): numbers are finite
and within a double's range (``NaN``, ``Infinity`` and ``1e999`` are refused), values nest at
most :data:`MAX_DEPTH` deep, and text holds no unpaired surrogate (it could not be written as UTF-8).
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import sys
from dataclasses import dataclass
from typing import Any

MAX_ACTION_CHARS = 20_000
MAX_CALLS = 16
#: How deep an argument value may nest (lists, objects). Deeper values are refused: every later
#: stage (validation, scoring, encoding the observation) may then recurse without a care.
MAX_DEPTH = 100
#: The largest magnitude a number may have: a double's. A bigger integer could not be compared
#: with a float (``OverflowError``) nor, past 4300 digits, even printed (``ValueError``).
MAX_NUMBER = sys.float_info.max
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
# The platform name ends on a non-space character, so the name and the spaces before ":" cannot
# share characters: with a lazy name, a long run of spaces made matching quadratic (~1 s per action).
_PTBENCH = re.compile(r"^\s*([^\s:\[\]{}()\"'](?:[^:\[\]{}()\"']*[^\s:\[\]{}()\"'])?)\s*:\s*(\[.*\])\s*$", re.S)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TOO_LARGE = "number too large (numbers must be finite and within a double's range, about ±1.8e308)"
_TOO_DEEP = f"value nested too deeply (at most {MAX_DEPTH} levels of lists and objects)"
_SURROGATE_MSG = "text holds an unpaired surrogate (U+D800 to U+DFFF), which is not valid Unicode; send UTF-8 text"


class ActionError(ValueError):
    """The action could not be understood; the message says what was wrong and what is expected."""


@dataclass(frozen=True, slots=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    #: Positional arguments found (and dropped) in the PTBench form.
    positional: int = 0
    #: Whether an argument value was folded from arithmetic (``2*3``).
    computed: bool = False


@dataclass(frozen=True, slots=True)
class ParsedAction:
    calls: tuple[ParsedCall, ...]
    #: The platform named by the PTBench form (``Platform:[...]``), else None.
    platform: str | None = None
    form: str = "json"
    notes: tuple[str, ...] = ()


#: Recently parsed action texts (agents, RL candidates above all, send the same ones again and
#: again). A parse is a pure function of the text and its result is immutable (treat the
#: arguments as read-only), so it is shared. Bounded; errors are not kept.
_PARSED: dict[str, ParsedAction] = {}
_PARSED_SIZE = 4096


def parse_action(text: Any) -> ParsedAction:
    """Parse one action. Raises :class:`ActionError` with a helpful message."""
    if type(text) is str:
        hit = _PARSED.get(text)
        if hit is not None:
            return hit
    parsed = _parse(text)
    if len(_PARSED) >= _PARSED_SIZE:
        _PARSED.clear()
    _PARSED[text] = parsed
    return parsed


def _parse(text: Any) -> ParsedAction:
    if not isinstance(text, str):
        raise ActionError(f"an action is a string, got {type(text).__name__}")
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(f"action too long ({len(text)} characters; the limit is {MAX_ACTION_CHARS})")
    # isascii() is O(1): the search runs only on text with non-ASCII characters
    if not text.isascii() and _SURROGATE.search(text):
        raise ActionError(f"the action {_SURROGATE_MSG}")
    s = text.strip()
    # the fence must close the text; checked first, since a failing match backtracks quadratically
    if s.startswith("```") and s.endswith("```"):  # a fenced block (LLMs often wrap JSON so)
        m = _FENCE.match(s)
        if m:
            s = m.group(1).strip()
    if not s:
        raise ActionError('empty action; send a tool call such as {"name": "<tool>", "arguments": {...}}')
    if s[0] in "{[":
        try:
            data = _decode(s)
        except json.JSONDecodeError as exc:
            if s[0] == "[":  # maybe a bare PTBench list: [func(a=1)]
                return _parse_ptbench(None, s)
            raise ActionError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        calls = _from_json(data)
        return ParsedAction(calls=tuple(calls), form="json")
    m = _PTBENCH.match(s)
    if m:
        return _parse_ptbench(m.group(1).strip(), m.group(2))
    if re.match(r"^[A-Za-z_][\w.]*\s*\(", s):
        return _parse_ptbench(None, s)
    raise ActionError(
        'could not read the action; use a JSON tool call {"name": "<tool>", "arguments": {...}}, '
        'a list of them, or PTBench form Platform:[func(arg="value")]'
    )


# -- what every parsed value must be ---------------------------------------------------------
def _value_problem(value: Any) -> str | None:
    """Why ``value`` (an argument, with what it holds) cannot be passed on, or None.

    Level by level rather than recursive, so that depth is what is checked rather than what breaks
    the check. Types are compared exactly: ``json`` and ``ast.literal_eval`` make no subclasses (a
    bool is left alone), and this runs on every step, so the common scalars come first."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        inner: list[Any] = []
        for v in level:
            t = type(v)
            if t is str:
                if not v.isascii() and _SURROGATE.search(v):
                    return _SURROGATE_MSG
            elif t is int:
                if abs(v) > MAX_NUMBER:  # exact: Python compares an int with a float without rounding
                    return _TOO_LARGE
            elif t is float:
                if not math.isfinite(v):  # 1e999 reads as inf
                    return _TOO_LARGE
            elif t is dict:
                inner += v
                inner += v.values()
            elif t is list or t is tuple or t is set or t is frozenset:
                inner += v
            elif t is complex and not (math.isfinite(v.real) and math.isfinite(v.imag)):
                return _TOO_LARGE  # a PTBench literal (1e999j): no tool takes one, but it must be finite too
            # else None, a bool, or a PTBench literal such as bytes or ``...``: nothing in them to check
        if not inner:
            return None
        level = inner
    return _TOO_DEEP


def _check_call(call: ParsedCall, where: str) -> ParsedCall:
    """``call`` if its name and arguments can be passed on; else an :class:`ActionError` saying why."""
    if not call.name.isascii() and _SURROGATE.search(call.name):
        raise ActionError(f"{where}the tool name {_SURROGATE_MSG}")
    problem = _value_problem(call.arguments)
    if problem is not None:
        raise ActionError(f"{where}arguments of {call.name!r}: {problem}")
    return call


def _refuse_constant(name: str) -> Any:
    raise ActionError(f"{name} is not a JSON number; numbers must be finite (NaN, Infinity and -Infinity are refused)")


# Python's json reads NaN, Infinity and -Infinity, which no other JSON parser accepts: refused, so
# they never reach an observation (which must stay strict JSON).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _decode(text: str) -> Any:
    """``json.loads`` without NaN/Infinity. Raises ``json.JSONDecodeError`` for malformed JSON (the
    caller words it) and :class:`ActionError` for the rest."""
    if text.startswith("\ufeff"):  # as json.loads words it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        return _DECODER.decode(text)
    except (json.JSONDecodeError, ActionError):
        raise
    except ValueError:  # int() of a literal longer than sys.get_int_max_str_digits() (4300 digits)
        raise ActionError(_TOO_LARGE) from None
    except RecursionError:
        raise ActionError("JSON nested too deeply") from None


# -- JSON shapes -------------------------------------------------------------------------
def _from_json(data: Any) -> list[ParsedCall]:
    if isinstance(data, dict) and "tool_calls" in data:
        data = data["tool_calls"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ActionError("empty list of tool calls")
    if len(items) > MAX_CALLS:
        raise ActionError(f"too many calls in one action ({len(items)}; the limit is {MAX_CALLS})")
    return [_one_json_call(item, i) for i, item in enumerate(items)]


def _one_json_call(item: Any, index: int) -> ParsedCall:
    where = f"call {index + 1}: " if index else ""
    if not isinstance(item, dict):
        raise ActionError(f"{where}a tool call is a JSON object, got {type(item).__name__}")
    if isinstance(item.get("function"), dict):  # OpenAI tool_call shape
        item = item["function"]
    name = item.get("name", item.get("tool", item.get("function")))
    if not isinstance(name, str) or not name:
        raise ActionError(f'{where}missing tool name; expected a "name" (or "tool") string')
    args: Any = {}
    for key in ("arguments", "args", "input", "parameters"):
        if key in item:
            args = item[key]
            break
    if isinstance(args, str):  # OpenAI sends arguments as a JSON string, possibly malformed
        try:
            args = _decode(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ActionError(f"{where}arguments of {name!r} are not valid JSON: {exc.msg}") from None
        except ActionError as exc:
            raise ActionError(f"{where}arguments of {name!r}: {exc}") from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ActionError(f"{where}arguments of {name!r} must be a JSON object, got {type(args).__name__}")
    return _check_call(ParsedCall(name=name, arguments=args), where)


# -- PTBench text form ---------------------------------------------------------------------
def _parse_ptbench(platform: str | None, body: str) -> ParsedAction:
    try:
        tree = ast.parse(body.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = getattr(exc, "msg", exc)
        if "integer string conversion" in str(msg):  # a literal past Python's 4300 digits: its advice is for programmers
            msg = _TOO_LARGE
        raise ActionError(f"could not parse the call list: {msg}") from None
    nodes = tree.elts if isinstance(tree, (ast.List, ast.Tuple)) else [tree]
    if len(nodes) > MAX_CALLS:
        raise ActionError(f"too many calls in one action ({len(nodes)}; the limit is {MAX_CALLS})")
    calls = []
    for i, node in enumerate(nodes):
        if not isinstance(node, ast.Call):
            raise ActionError(f"item {i + 1} is not a function call like func(arg=value)")
        name = _call_name(node.func)
        args: dict[str, Any] = {}
        computed = False
        for kw in node.keywords:
            if kw.arg is None:
                raise ActionError(f"{name}: **kwargs are not allowed")
            args[kw.arg], folded = _literal(kw.value, f"{name}({kw.arg}=...)")
            computed = computed or folded
        calls.append(ParsedCall(name=name, arguments=args, positional=len(node.args), computed=computed))
    notes = tuple(f"{c.name}: {c.positional} positional argument(s) ignored" for c in calls if c.positional)
    return ParsedAction(calls=tuple(calls), platform=platform, form="ptbench", notes=notes)


def _call_name(func: ast.expr) -> str:
    # a loop, not recursion: a.b.c... can be thousands of attributes long
    attrs = []
    while isinstance(func, ast.Attribute):  # platform.api -> "platform__api"
        attrs.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        return "__".join([func.id, *reversed(attrs)])
    raise ActionError("a call must name a function, e.g. search(keyword='x')")


_BINOPS: dict[type, Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _literal(node: ast.expr, where: str) -> tuple[Any, bool]:
    """A Python literal; a bare name reads as its string (PTBench does the same); numeric
    arithmetic is folded. Returns (value, folded)."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    else:
        problem = _value_problem(value)  # 0x... literals have no digit limit; 1e999 reads as inf
        if problem is not None:
            raise ActionError(f"{where}: {problem}")
        return value, False
    if isinstance(node, ast.Name):
        return node.id, False
    try:
        return _arith(node, depth=0), True
    except ActionError:
        raise ActionError(f"{where}: only literal values are allowed (strings, numbers, booleans, lists)") from None


def _arith(node: ast.expr, depth: int) -> float | int:
    if depth > 8:
        raise ActionError("expression too deep")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        if abs(node.value) > 1e12:
            raise ActionError("number too large")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _arith(node.operand, depth + 1)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _arith(node.left, depth + 1), _arith(node.right, depth + 1)
        if isinstance(node.op, ast.Div) and b == 0:
            raise ActionError("division by zero")
        try:
            result: float | int = _BINOPS[type(node.op)](a, b)
        except OverflowError:  # int / int beyond a float
            raise ActionError("number too large") from None
        # operands are bounded, results are not: 1e12 * 1e12 * ... or 1e12 / 1e-300 leave a double's
        # range (inf compares above it; NaN cannot arise from finite operands without a zero division)
        if abs(result) > MAX_NUMBER:
            raise ActionError("number too large")
        return result
    raise ActionError("not arithmetic")
