"""PTBench's records and answer form: a record as a task the core can run, reading ``data.json``,
the one-shot prompt, and turning an answer text into a prediction.

* :class:`PTBenchRecord` is one record: the prompt parts PTBench shows (profile, platforms, tools,
  query) and its ``answer`` in PTBench's vocabulary. Imported records run in the multi-step env
  (:class:`~ptenv.core.record_episode.RecordEpisode`) and in ``PTBench-v0``; a dataset task shown
  in PTBench's shape is one too (:meth:`~ptenv.core.sources.DatasetSource.one_shot`).
* :func:`load_records` reads a ``data.json`` (a JSON list of records). A malformed record gets a
  clear error naming the record and the field; the others still load.
* :func:`prediction_from_text` reads an answer (PTBench's ``Platform:[func(a=1)]`` or JSON calls
  named ``platform__api``) with the action parser: ``json`` and ``ast`` only, nothing evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ptenv.core.actions import ActionError, parse_action
from ptenv.scoring import GoldAnswer, Prediction
from ptenv.tools_registry import Registry
from ptenv.tools_registry.specs import TOOL_SEP

ANSWER_FORMAT = (
    "Answer with the platform and the calls, and nothing else: Platform:[func1(param1=value1, param2=value2), func2(...)]. "
    "Use the platform's name and its own function names; quote strings."
)
#: Multi-call tasks need a previous call's result, which a one-shot answer cannot see.
ONE_SHOT_KINDS = ("tool_preference", "preference_and_profile", "profile_dependent", "explicit_platform")


@dataclass(frozen=True)
class PTBenchRecord:
    index: int
    id: str
    user_profile: str
    platforms: str
    tools: str
    query: str
    answer: list[Any]
    query_params: tuple[str, ...]
    profile_params: tuple[str, ...]
    #: ptenv's clock for the task, when the record came from ptenv (PTBench has none).
    now: str | None = None
    #: Other spellings of the platform the strict scorer accepts (a dataset task's platform id).
    platform_aliases: tuple[str, ...] = ()

    @cached_property
    def gold(self) -> GoldAnswer:
        """The answer as the scorers read it (built once: scoring is on the hot path)."""
        return GoldAnswer.from_ptbench(self.answer, list(self.query_params), list(self.profile_params), aliases=self.platform_aliases)


def ptbench_prompt(profile: str | None, platforms: str, tools: str, answer_format: str, now: str | None) -> str:
    """A system prompt in PTBench's shape: profile, platforms, tools and the required answer form."""
    return "\n\n".join(
        [
            "You help a user by choosing the platform they would prefer and the function calls that fulfil their request.",
            f"Current time: {now or 'unknown'}",
            f"User profile:\n{profile or '(not available)'}",
            f"Platforms:\n{platforms}",
            f"Tools (JSON):\n{tools}",
            answer_format,
        ]
    )


class RecordError(ValueError):
    pass


def _text(value: Any, field: str) -> str:
    """PTBench keeps profile, platforms and tools as free text or as JSON: accept both."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    raise RecordError(f"field {field!r}: expected text or JSON, got {type(value).__name__}")


def _answer(value: Any) -> list[Any]:
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], list)):
        raise RecordError("field 'answer': expected [platform, [{function: {parameter: [accepted values]}}]]")
    for j, call in enumerate(value[1]):
        if not (isinstance(call, dict) and len(call) == 1):
            raise RecordError(f"field 'answer': call {j} must be an object with one function name")
        ((func, params),) = call.items()
        if not isinstance(params, dict):
            raise RecordError(f"field 'answer': the parameters of {func!r} must be an object")
        for p, accepted in params.items():
            if not isinstance(accepted, list) or not accepted:
                raise RecordError(f"field 'answer': {func}.{p} must be a non-empty list of accepted values")
    return value


def _names(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise RecordError(f"field {field!r}: expected a list of parameter names")
    return tuple(value)


def parse_record(raw: Any, index: int) -> PTBenchRecord:
    if not isinstance(raw, dict):
        raise RecordError(f"expected an object, got {type(raw).__name__}")
    for field in ("user_profile", "platforms", "tools", "query", "answer"):
        if field not in raw:
            raise RecordError(f"missing field {field!r}")
    if not isinstance(raw["query"], str) or not raw["query"].strip():
        raise RecordError("field 'query': expected a non-empty string")
    return PTBenchRecord(
        index=index,
        id=str(raw.get("id", index)),
        user_profile=_text(raw["user_profile"], "user_profile"),
        platforms=_text(raw["platforms"], "platforms"),
        tools=_text(raw["tools"], "tools"),
        query=raw["query"],
        answer=_answer(raw["answer"]),
        query_params=_names(raw.get("query_params"), "query_params"),
        profile_params=_names(raw.get("profile_params"), "profile_params"),
        now=raw.get("now") if isinstance(raw.get("now"), str) else None,
    )


def load_records(source: str | Path | list[Any]) -> tuple[list[PTBenchRecord], list[str]]:
    """Records, and one error message per record that could not be read (naming the field)."""
    if isinstance(source, list):
        data: Any = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{source}: not UTF-8 text (byte {exc.start}); a data.json is a JSON list of records") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not JSON ({exc.msg} at line {exc.lineno}); a data.json is a JSON list of records") from None
    if not isinstance(data, list):
        raise ValueError(f"{source}: a data.json is a JSON list of records")
    records, errors = [], []
    for i, raw in enumerate(data):
        try:
            records.append(parse_record(raw, i))
        except RecordError as exc:
            errors.append(f"record {i}: {exc}")
    return records, errors


def prediction_from_text(text: Any, registry: Registry | None = None) -> tuple[Prediction, str | None]:
    """A PTBench prediction from an answer text; JSON calls named ``platform__api`` are accepted."""
    try:
        parsed = parse_action(text)
    except ActionError as exc:
        return Prediction(platform=None, calls=None), str(exc)
    platform = parsed.platform
    calls = []
    names = {p.id: p.name for sc in registry.scenarios.values() for p in sc.platforms} if registry else {}
    seen_platforms = set()
    for c in parsed.calls:
        name = c.name
        if TOOL_SEP in name:
            pid, _, api = name.partition(TOOL_SEP)
            seen_platforms.add(names.get(pid.lower(), pid))
            name = api
        calls.append((name, c.arguments))
    if platform is None and len(seen_platforms) == 1:
        platform = seen_platforms.pop()
    return Prediction(platform=platform, calls=tuple(calls), positional=sum(c.positional for c in parsed.calls)), None
