"""PTBench's files: records (``data.json``), predictions (``generation.jsonl``), scoring, prediction.

* :func:`load_records` reads a ``data.json`` (a JSON list of records). A malformed record gets a
  clear error naming the record and the field; the others still load.
* :func:`score` scores a ``generation.jsonl`` against records with the ``compat`` scorer (the
  published figures, quirks included) or the ``strict`` one (docs/scoring.md). Predictions are
  matched to records by line, as PTBench does, but a line whose ``query`` is not its record's is
  reported (PTBench's runner appended to old files and so misaligned reruns); it scores as a format
  failure, never silently against the wrong record.
* :func:`predict` writes ``generation.jsonl`` from an agent run on the records in
  ``ptenv/PTBench-v0``. It overwrites: a rerun never appends to an old file.

Records in ptenv's own format come from ``ptenv data export --format ptbench``; importing an
export gives back the same gold, so the same predictions get the same scores (tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptenv.core.actions import ActionError, parse_action
from ptenv.scoring import GoldAnswer, Prediction, RecordScore, Scorer, aggregate, combine, score_record
from ptenv.tools_registry import Registry
from ptenv.tools_registry.specs import TOOL_SEP


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

    @property
    def gold(self) -> GoldAnswer:
        return GoldAnswer.from_ptbench(self.answer, list(self.query_params), list(self.profile_params))


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
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{source}: not a readable JSON file ({exc})") from None
    if not isinstance(data, list):
        raise ValueError(f"{source}: a data.json is a JSON list of records")
    records, errors = [], []
    for i, raw in enumerate(data):
        try:
            records.append(parse_record(raw, i))
        except RecordError as exc:
            errors.append(f"record {i}: {exc}")
    return records, errors


def load_predictions(path: str | Path) -> list[dict[str, Any] | None]:
    """generation.jsonl lines (None for a line that is not a JSON object)."""
    out: list[dict[str, Any] | None] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            out.append(None)
            continue
        out.append(obj if isinstance(obj, dict) else None)
    return out


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


def score(records: list[PTBenchRecord], predictions: list[dict[str, Any] | None], scorer: Scorer = "compat") -> dict[str, Any]:
    """PTBench's columns and errors for one split, plus the misaligned lines found."""
    scores: list[RecordScore] = []
    misaligned = []
    for i, rec in enumerate(records):
        pred = predictions[i] if i < len(predictions) else None
        if pred is not None and "query" in pred and pred["query"] != rec.query:
            misaligned.append(i)
            pred = None
        text = pred.get("predict") if pred is not None else None
        scores.append(score_record(prediction_from_text(text)[0], rec.gold, scorer))
    out = aggregate(scores)
    out["misaligned"] = misaligned
    out["missing"] = max(0, len(records) - len(predictions))
    out["extra"] = max(0, len(predictions) - len(records))
    return out


def score_splits(parts: list[tuple[str, list[PTBenchRecord], list[dict[str, Any] | None]]], scorer: Scorer) -> dict[str, Any]:
    """Each split's scores and, for several, PTBench's overall weighted by record counts."""
    results = {name: score(recs, preds, scorer) for name, recs, preds in parts}
    out: dict[str, Any] = {"splits": results}
    if len(results) > 1:
        out["overall"] = combine(list(results.values()))
    return out


def predict(records: list[PTBenchRecord], agent: Any, out: str | Path, seed: int = 0) -> int:
    """Run an agent on the records in ``ptenv/PTBench-v0`` and write generation.jsonl (overwritten)."""
    from ptenv.envs.ptbench_env import PTBenchEnv

    env = PTBenchEnv(records=records)
    lines = []
    for i, rec in enumerate(records):
        obs, _ = env.reset(seed=seed + i, options={"task_index": i})
        agent.reset(seed=seed + i)
        answer = agent.act(obs)
        env.step(answer)
        lines.append(
            json.dumps({"query": rec.query, "label": json.dumps(rec.answer, ensure_ascii=False), "predict": answer}, ensure_ascii=False)
        )
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(out)
    return len(lines)
