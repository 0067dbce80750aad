"""Results: one JSON line per finished episode, read back for resuming and reporting, and
summarized in PTBench's columns (per split and weighted overall, per scenario and task kind),
with rewards, pass^k over trials, and (sessions) success by position.

Honesty: an errored episode stays in the results; it is counted in ``errored``, left out of the
metric averages (which are over scored tasks), and counted as a failure in pass^k.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptenv.scoring import COLUMNS, ERRORS, SHORT_LABELS, aggregate, combine, record_from_dict


def record_key(rec: dict[str, Any]) -> tuple[str, str, int]:
    return (rec["split"], rec["key"], rec["trial"])


@dataclass
class ResultsFile:
    """A results file as read: the last record of each episode (a retry after an error comes
    later), and whether its last line was cut short by a kill (it is left out)."""

    records: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    torn: bool = False


def read_results(path: Path, repair: bool = False) -> ResultsFile:
    """Read ``results.jsonl``. A line cut short by a kill can only be the last one (no newline after
    it); it is left out, and with ``repair`` cut from the file (by a run that alone writes it now).
    Any other line that is not a result record means the file was edited or damaged: ValueError,
    so no summary is computed from it."""
    out = ResultsFile()
    if not path.exists():
        return out
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text (byte {exc.start}): not a results file ptenv wrote") from None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # no newline after it: cut short by a kill; that episode runs again
                out.torn = True
                continue
            raise ValueError(f"{path} line {i + 1} is not JSON (the file was edited or damaged)") from None
        if not (
            isinstance(rec, dict)
            and isinstance(rec.get("split"), str)
            and isinstance(rec.get("key"), str)
            and isinstance(rec.get("trial"), int)
        ):
            raise ValueError(f"{path} line {i + 1} is not a result record (the file was edited or damaged)")
        out.records[record_key(rec)] = rec
    if out.torn and repair:
        with path.open("r+b") as f:
            f.truncate(len(data) - len(lines[-1].encode("utf-8")))
    return out


def load_results(path: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The last record of each episode in a results file, errored ones included (read-only)."""
    return read_results(path).records


def pass_hat_k(records: list[dict[str, Any]], trials: int) -> dict[str, float]:
    """pass^k (τ-bench): over tasks, the chance that k trials drawn from the n run all succeed,
    C(c, k) / C(n, k). Errored trials stay in n as failures."""
    by_key: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in records:
        ok = r.get("error") is None and bool(r.get("tasks")) and all(t.get("success") for t in r["tasks"])
        by_key[(r["split"], r["key"])].append(ok)
    out = {}
    for k in range(1, trials + 1):
        vals = [math.comb(sum(v), k) / math.comb(len(v), k) for v in by_key.values() if len(v) >= k]
        out[f"pass^{k}"] = sum(vals) / len(vals) if vals else 0.0
    return out


def summarize(records: list[dict[str, Any]], agent_name: str = "agent", trials: int = 1) -> dict[str, Any]:
    """PTBench's columns per split and weighted overall, per scenario and kind, errors, rewards,
    pass^k, and (sessions) success by position in the session."""
    by_split: dict[str, list[Any]] = defaultdict(list)
    by_scenario: dict[str, list[Any]] = defaultdict(list)
    by_kind: dict[str, list[Any]] = defaultdict(list)
    by_position: dict[int, list[Any]] = defaultdict(list)
    terms: dict[str, float] = defaultdict(float)
    scored_tasks = 0
    for r in records:
        for t in r.get("tasks", []):
            if not t.get("metrics"):
                continue
            rec = record_from_dict(t["metrics"])
            by_split[r.get("split", "all")].append(rec)
            by_scenario[t["scenario"]].append(rec)
            by_kind[t["kind"]].append(rec)
            by_position[t.get("position", 0)].append(rec)
            scored_tasks += 1
            for k, v in (t.get("reward_terms") or {}).items():
                terms[k] += v
    splits = {s: aggregate(v) for s, v in sorted(by_split.items())}
    overall = combine(list(splits.values())) if splits else aggregate([])
    finished = [r for r in records if r.get("error") is None]
    summary: dict[str, Any] = {
        "agent": agent_name,
        "episodes": len(records),
        "tasks": scored_tasks,
        "errored": len(records) - len(finished),
        "metrics": overall["acc"],
        "errors": overall["errors"],
        "splits": {s: _row(v) for s, v in splits.items()},
        "scenarios": {s: _row(aggregate(x)) for s, x in sorted(by_scenario.items())},
        "kinds": {s: _row(aggregate(x)) for s, x in sorted(by_kind.items())},
        "reward_mean": sum(r["reward"] for r in finished) / len(finished) if finished else 0.0,
        "reward_terms": {k: v / scored_tasks for k, v in terms.items()} if scored_tasks else {},
    }
    errored = [r for r in records if r.get("error") is not None]
    if errored:  # shown, and already counted above as failures (their requests scored unanswered)
        kinds = Counter(f"{r.get('error_type') or 'Error'} ({r.get('error_source', 'agent')})" for r in errored)
        summary["errored_tasks"] = sum(bool(t.get("errored")) for r in errored for t in r.get("tasks", []))
        summary["error_types"] = dict(kinds.most_common())
        summary["first_error"] = str(errored[0]["error"])
        if errored[0].get("traceback"):
            summary["first_traceback"] = errored[0]["traceback"]
    usages = [r["usage"] for r in records if r.get("usage")]
    if usages:
        # totals, except the largest prompt, which is the largest of any episode
        summary["usage"] = {k: (max if k.startswith("max_") else sum)(u.get(k, 0) for u in usages) for k in usages[0]}
    if trials > 1:
        summary["pass_k"] = pass_hat_k(records, trials)
    if len(by_position) > 1:
        summary["positions"] = {str(p): _row(aggregate(x)) for p, x in sorted(by_position.items())}
    return summary


def _row(agg: dict[str, Any]) -> dict[str, Any]:
    return {"n": agg["n"], **agg["acc"], "totals": agg["totals"]}


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as plain-text tables (PTBench's columns as percentages)."""
    # arguments a preference decides (ptenv-v2) get their own column, where a run has any
    columns = (*COLUMNS, "preference_params") if "preference_params" in summary["metrics"] else COLUMNS
    head = f"{'':<24}{'n':>6}" + "".join(f"{SHORT_LABELS[c]:>10}" for c in columns)

    def cell(acc: dict[str, Any], c: str) -> str:
        if acc.get("totals", {}).get(c) == 0 or c not in acc:  # no such parameters in these tasks: not applicable
            return f"{'-':>10}"
        return f"{100 * acc[c]:>10.1f}"

    def row(name: str, n: int, acc: dict[str, Any]) -> str:
        return f"{name:<24}{n:>6}" + "".join(cell(acc, c) for c in columns)

    lines = [
        f"agent: {summary['agent']}   episodes: {summary['episodes']}   tasks: {summary['tasks']}   errored: {summary['errored']}",
        "",
        head,
    ]
    for s, v in summary["splits"].items():
        lines.append(row(s, v["n"], v))
    lines.append(row("overall (weighted)", sum(v["n"] for v in summary["splits"].values()), summary["metrics"]))
    for title, key in (("by scenario", "scenarios"), ("by task kind", "kinds")):
        lines += ["", f"{title:<24}"]
        lines += [row(s, v["n"], v) for s, v in summary[key].items()]
    if "positions" in summary:
        lines += ["", "by position in session"]
        lines += [row(f"task {int(p) + 1}", v["n"], v) for p, v in summary["positions"].items()]
    lines += ["", "errors: " + ", ".join(f"{e} {summary['errors'][e]}" for e in ERRORS)]
    terms = summary["reward_terms"]
    lines.append(
        f"reward: mean {summary['reward_mean']:.3f} per finished episode  ("
        + ", ".join(f"{k} {v:.3f}" for k, v in terms.items() if not k.startswith("penalty"))
        + ")"
    )
    if "usage" in summary:
        u = summary["usage"]
        line = "usage: " + ", ".join(f"{k} {v}" for k, v in u.items())
        if u.get("requests"):
            line += f"; prompt tokens per request: mean {u.get('input_tokens', 0) / u['requests']:,.0f}, largest {u.get('max_input_tokens', 0):,}"
        lines.append(line)
    if "pass_k" in summary:
        lines.append("pass^k: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["pass_k"].items()) + "  (errored trials count as failures)")
    if summary["errored"]:
        lines += ["", *error_lines(summary)]
    return "\n".join(lines)


def error_lines(summary: dict[str, Any]) -> list[str]:
    """What went wrong in a run, in two lines (empty when nothing did)."""
    if not summary.get("errored"):
        return []
    kinds = ", ".join(f"{k} {n}" for k, n in summary.get("error_types", {}).items())
    return [
        f"errored: {summary['errored']} of {summary['episodes']} episodes ({kinds}); their {summary.get('errored_tasks', 0)} "
        "unfinished request(s) count as failures above",
        f"first error: {summary.get('first_error', '?')}",
    ]
