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
"""

from __future__ import annotations

import ast
import json
import operator
import re
from dataclasses import dataclass
from typing import Any

MAX_ACTION_CHARS = 20_000
MAX_CALLS = 16
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_PTBENCH = re.compile(r"^\s*([^\s:\[\]{}()\"'][^:\[\]{}()\"']*?)\s*:\s*(\[.*\])\s*$", re.S)


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


def parse_action(text: Any) -> ParsedAction:
    """Parse one action. Raises :class:`ActionError` with a helpful message."""
    if not isinstance(text, str):
        raise ActionError(f"an action is a string, got {type(text).__name__}")
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(f"action too long ({len(text)} characters; the limit is {MAX_ACTION_CHARS})")
    s = text.strip()
    if s.startswith("```"):  # a fenced block (LLMs often wrap JSON so)
        m = _FENCE.match(s)
        if m:
            s = m.group(1).strip()
    if not s:
        raise ActionError('empty action; send a tool call such as {"name": "<tool>", "arguments": {...}}')
    if s[0] in "{[":
        try:
            data = json.loads(s)
        except json.JSONDecodeError as exc:
            if s[0] == "[":  # maybe a bare PTBench list: [func(a=1)]
                return _parse_ptbench(None, s)
            raise ActionError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise ActionError("JSON nested too deeply") from None
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
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ActionError(f"{where}arguments of {name!r} are not valid JSON: {exc.msg}") from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ActionError(f"{where}arguments of {name!r} must be a JSON object, got {type(args).__name__}")
    return ParsedCall(name=name, arguments=args)


# -- PTBench text form ---------------------------------------------------------------------
def _parse_ptbench(platform: str | None, body: str) -> ParsedAction:
    try:
        tree = ast.parse(body.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ActionError(f"could not parse the call list: {getattr(exc, 'msg', exc)}") from None
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
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):  # platform.api -> "platform__api"
        return f"{_call_name(func.value)}__{func.attr}"
    raise ActionError("a call must name a function, e.g. search(keyword='x')")


_BINOPS: dict[type, Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _literal(node: ast.expr, where: str) -> tuple[Any, bool]:
    """A Python literal; a bare name reads as its string (PTBench does the same); numeric
    arithmetic is folded. Returns (value, folded)."""
    try:
        return ast.literal_eval(node), False
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
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
        result: float | int = _BINOPS[type(node.op)](a, b)
        return result
    raise ActionError("not arithmetic")
