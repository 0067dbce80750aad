"""PTBench's prediction files (``generation.jsonl``) and their scores against records.

Records are read by :func:`ptenv.core.records.load_records` (a ``data.json``; a malformed record
gets a clear error naming the record and the field, and the others still load).

* :func:`score` scores a ``generation.jsonl`` against records with the ``compat`` scorer (the
  published figures, quirks included) or the ``strict`` one (docs/scoring.md). Predictions are
  matched to records by line, as PTBench does, but a line whose ``query`` is not its record's is
  reported (PTBench's runner appended to old files and so misaligned reruns); it scores as a format
  failure, never silently against the wrong record.

Records in ptenv's own format come from ``ptenv data export --format ptbench``; importing an
export gives back the same gold, so the same predictions get the same scores (tested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ptenv.core.records import PTBenchRecord, prediction_from_text
from ptenv.scoring import RecordScore, Scorer, aggregate, combine, score_record


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
