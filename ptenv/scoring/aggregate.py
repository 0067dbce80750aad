"""PTBench's columns over many records: one split, and several weighted by their sizes."""

from __future__ import annotations

from typing import Any

from ptenv.scoring.scorer import COLUMNS, ERRORS, RecordScore


def aggregate(scores: list[RecordScore]) -> dict[str, Any]:
    """PTBench's columns (fractions in [0, 1]; query/profile may exceed 1 under compat) and error counts."""
    n = len(scores)
    acc: dict[str, float] = {}
    for col in ("format", "platforms", "tool_names", "tool_param_names", "tool_param_values"):
        acc[col] = sum(getattr(s, col) for s in scores) / n if n else 0.0
    qt = sum(s.query_total for s in scores)
    pt = sum(s.profile_total for s in scores)
    acc["query_params"] = sum(s.query_hits for s in scores) / qt if qt else 0.0
    acc["profile_params"] = sum(s.profile_hits for s in scores) / pt if pt else 0.0
    acc["overall"] = sum(s.overall for s in scores) / n if n else 0.0
    errors = {e: sum(s.errors.get(e, 0) for s in scores) for e in ERRORS}
    out: dict[str, Any] = {
        "n": n,
        "acc": {c: acc[c] for c in COLUMNS},
        "errors": errors,
        "totals": {"query_params": qt, "profile_params": pt},
    }
    ft = sum(s.preference_total for s in scores)
    if ft:  # arguments a preference decides (ptenv-v2): their own column, only where there are some
        out["acc"]["preference_params"] = sum(s.preference_hits for s in scores) / ft
        out["totals"]["preference_params"] = ft
    return out


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The overall of several splits, weighted by their record counts (PTBench's 474:609)."""
    n = sum(p["n"] for p in parts)
    acc = {c: (sum(p["acc"][c] * p["n"] for p in parts) / n if n else 0.0) for c in COLUMNS}
    errors = {e: sum(p["errors"][e] for p in parts) for e in ERRORS}
    totals = {k: sum(p.get("totals", {}).get(k, 0) for p in parts) for k in ("query_params", "profile_params")}
    ft = sum(p["totals"].get("preference_params", 0) for p in parts)
    if ft:  # weighted by how many such arguments each part has
        acc["preference_params"] = sum(p["acc"].get("preference_params", 0.0) * p["totals"].get("preference_params", 0) for p in parts) / ft
        totals["preference_params"] = ft
    return {"n": n, "acc": acc, "errors": errors, "totals": totals}
