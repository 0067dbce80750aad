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
from ptenv.scoring import COLUMNS, ERRORS, RecordScore, Scorer, aggregate, combine, score_record


def load_predictions(path: str | Path) -> list[dict[str, Any] | None]:
    """generation.jsonl lines (None for a line that is not a JSON object)."""
    out: list[dict[str, Any] | None] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); a generation.jsonl has one JSON object per line") from None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            out.append(None)
            continue
        out.append(obj if isinstance(obj, dict) else None)
    return out


def score(
    records: list[PTBenchRecord], predictions: list[dict[str, Any] | None], scorer: Scorer = "compat", slots: int | None = None
) -> dict[str, Any]:
    """PTBench's columns and errors for one split, and the lines that do not line up.

    Predictions pair with records by position in the data file (``PTBenchRecord.index``), as
    PTBench pairs them; a record refused when reading keeps its slot, so the lines after it still
    pair with their own records. ``slots`` is the number of records in the file (refused ones
    included; by default the records given)."""
    scores: list[RecordScore] = []
    misaligned = []
    slots = len(records) if slots is None else slots
    for rec in records:
        i = rec.index
        pred = predictions[i] if i < len(predictions) else None
        if pred is not None and "query" in pred and pred["query"] != rec.query:
            misaligned.append(i)
            pred = None
        text = pred.get("predict") if pred is not None else None
        scores.append(score_record(prediction_from_text(text)[0], rec.gold, scorer))
    out = aggregate(scores)
    out["misaligned"] = misaligned
    out["missing"] = max(0, slots - len(predictions))
    out["extra"] = max(0, len(predictions) - slots)
    out["refused"] = slots - len(records)
    return out


def score_splits(
    parts: list[tuple[str, list[PTBenchRecord], list[dict[str, Any] | None]]], scorer: Scorer, slots: dict[str, int] | None = None
) -> dict[str, Any]:
    """Each split's scores and, for several, PTBench's overall weighted by record counts.
    ``slots`` gives each split's number of records in its file, refused ones included."""
    results = {name: score(recs, preds, scorer, (slots or {}).get(name)) for name, recs, preds in parts}
    out: dict[str, Any] = {"splits": results}
    if len(results) > 1:
        out["overall"] = combine(list(results.values()))
    return out


def _rows(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(result["splits"].items()) + ([("overall (weighted)", result["overall"])] if "overall" in result else [])


def scores_json(result: dict[str, Any]) -> dict[str, Any]:
    """:func:`score_splits` as ``ptenv ptbench score --json`` prints it: for one split exactly
    PTBench's ``{"acc", "errors"}``; for several, that and ``n`` per split and overall."""
    rows = _rows(result)
    if len(rows) == 1:
        return {"acc": rows[0][1]["acc"], "errors": rows[0][1]["errors"]}
    return {n: {"acc": r["acc"], "errors": r["errors"], "n": r["n"]} for n, r in rows}


def format_scores(result: dict[str, Any], scorer: str) -> str:
    """:func:`score_splits` as tables: PTBench's columns (in %) and error counts per split."""
    rows = _rows(result)
    lines = [f"scorer: {scorer}", f"{'':<22}{'n':>6}" + "".join(f"{c:>18}" for c in COLUMNS)]
    lines += [f"{n:<22}{r['n']:>6}" + "".join(f"{100 * r['acc'][c]:>18.2f}" for c in COLUMNS) for n, r in rows]
    lines += ["", f"{'':<22}" + "".join(f"{e:>22}" for e in ERRORS)]
    lines += [f"{n:<22}" + "".join(f"{r['errors'][e]:>22}" for e in ERRORS) for n, r in rows]
    lines += alignment_problems(result)
    return "\n".join(lines)


def alignment_problems(result: dict[str, Any]) -> list[str]:
    """One line per split whose prediction lines do not line up with its records."""
    out = []
    for n, r in result["splits"].items():
        if r["misaligned"] or r["missing"] or r["extra"] or r.get("refused"):
            out.append(
                f"{n}: {len(r['misaligned'])} prediction line(s) for another query, {r['missing']} missing, {r['extra']} extra"
                f" (scored as format failures); {r.get('refused', 0)} record(s) refused (their lines not scored)"
            )
    return out
