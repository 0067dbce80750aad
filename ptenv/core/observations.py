"""Observation text: JSON documents an LLM reads as they are and a script parses.

Every observation is one JSON object with a ``type``: ``task`` (a new request, with the tools on
offer), ``tool_results``, ``error``, ``finished`` or ``session_end``. docs/environments.md shows
each.
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.tools_registry.world import Encoded, EncodedRecord, EncodedResult

#: Outputs whose JSON they carry themselves (spliced in whole).
_SPLICED = (Encoded, EncodedResult, EncodedRecord)

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Any JSON value as compact text, unicode kept as is (the encoding of every observation).
encode = _ENCODER.encode


class EncodedText(str):
    """A long text shown in many observations (PTBench's tool list of a scenario, ~40 KB) that
    carries its JSON encoding (``json``), so an observation splices it rather than escaping it again."""

    json: str

    def __new__(cls, text: str) -> EncodedText:
        self = super().__new__(cls, text)
        self.json = _ENCODER.encode(str(text))
        return self


def dumps(payload: dict[str, Any]) -> str:
    """Encode an observation payload (compact, unicode kept as is)."""
    kind = payload.get("type")
    if kind == "tool_results":
        return _dumps_tool_results(payload)
    if kind == "ptbench":
        # same bytes as encode(payload): keys are plain strings, values spliced when pre-encoded
        items = [_ENCODER.encode(k) + ":" + (v.json if type(v) is EncodedText else _ENCODER.encode(v)) for k, v in payload.items()]
        return "{" + ",".join(items) + "}"
    return _ENCODER.encode(payload)


def _dumps_tool_results(payload: dict[str, Any]) -> str:
    """The hot path of every step: a catalogue search's output, or its records, or a constant
    output (``finish``'s) carry their JSON (:class:`~ptenv.tools_registry.world.Encoded` and its
    kinds), so it is spliced in rather than encoded again. Same bytes as ``encode`` (a test
    checks it). Each text is one f-string: a chain of ``+`` makes a string per operator."""
    if len(payload) != 4 or "results" not in payload or "notes" in payload:
        return _ENCODER.encode(payload)
    results = payload["results"]
    if len(results) == 1:  # one call, the usual step (a finishing one above all): written in one piece
        res = results[0]
        out = res.get("output")
        if type(out) in _SPLICED and len(res) == 3 and res.get("ok") is True:
            return f'{{"type":"tool_results","step":{payload["step"]},"results":[{{"tool":"{res["tool"]}","ok":true,"output":{out.json}}}],"steps_left":{payload["steps_left"]}}}'
    parts = []
    for res in results:
        out = res.get("output")
        if type(out) in _SPLICED and len(res) == 3 and res.get("ok") is True:
            # an ok call's tool name is a registry name (^[a-zA-Z0-9_-]+$): nothing to escape
            parts.append(f'{{"tool":"{res["tool"]}","ok":true,"output":{out.json}}}')
            continue
        items = out.get("results") if res.get("ok") is True and len(res) == 3 and isinstance(out, dict) and len(out) == 2 else None
        if isinstance(items, list) and isinstance(out.get("count"), int) and all(type(x) is EncodedRecord for x in items):
            records = ",".join([x.json for x in items])
            parts.append(f'{{"tool":"{res["tool"]}","ok":true,"output":{{"results":[{records}],"count":{out["count"]}}}}}')
        else:
            parts.append(_ENCODER.encode(res))
    return f'{{"type":"tool_results","step":{payload["step"]},"results":[{",".join(parts)}],"steps_left":{payload["steps_left"]}}}'


#: How an opening observation's tool list starts: it is the last key (``render_intro`` puts it there).
_TOOLS_KEY = ',"tools":['


def parse_observation(text: str, with_tools: bool = True) -> dict[str, Any]:
    """The observation as a dict. Raises ``ValueError`` if ``text`` is not a ptenv observation.

    ``with_tools=False`` leaves out an opening observation's ``tools``: about 90% of its bytes, so
    an agent that does not read the tool list (a scripted one that knows the tools) skips most of
    the decoding."""
    if not with_tools and text.startswith('{"type":"task"') and text.endswith("]}"):
        cut = text.find(_TOOLS_KEY)
        if cut > 0:
            try:
                # the first structural ',"tools":[' is the top-level key: one inside the head
                # would leave this part unbalanced (and quotes inside strings are escaped)
                head = json.loads(text[:cut] + "}")
            except json.JSONDecodeError:
                head = None
            if isinstance(head, dict) and head.get("type") == "task":
                return head
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a ptenv observation: {exc.msg}") from None
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError("not a ptenv observation: expected a JSON object with a 'type'")
    if not with_tools and data["type"] == "task":
        data.pop("tools", None)
    return data
