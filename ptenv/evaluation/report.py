"""``ptenv report RUN [RUN ...]``: a Markdown and an HTML report with PNG plots.

A RUN is a directory written by ``ptenv eval --out`` (``run.json`` and ``results.jsonl``). The
report recomputes every figure from the results files, so it always agrees with them:

* PTBench's columns per agent, and overall success per scenario and per task kind;
* learning curves for session runs: platform accuracy by position in the session, averaged over
  users with a band of ± one standard deviation across users;
* the validity separation: oracle = 1.0, heuristic clearly above profile-blind on platform and
  profile arguments, profile-blind at chance on platform for preference tasks, random near 0.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ptenv.evaluation.results import read_results, summarize
from ptenv.scenarios import PREFERENCE_KINDS
from ptenv.scoring import COLUMNS, SHORT_LABELS


def load_run(path: Path) -> dict[str, Any]:
    """A run directory, read without changing it: its settings, every episode's last record
    (errored ones included: they count as failures), and its summary."""
    results = path / "results.jsonl"
    if not path.is_dir() or not results.exists():
        raise ValueError(f"{path} is not a run directory (no results.jsonl); make one with ptenv eval --out {path}")
    meta: dict[str, Any] = {}
    if (path / "run.json").exists():
        try:
            meta = json.loads((path / "run.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"{path / 'run.json'} is not JSON; is {path} a run directory of ptenv eval?") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path / 'run.json'} is not a run.json ptenv wrote")
    read = read_results(results)
    records = list(read.records.values())
    trials = max((r.get("trial", 0) for r in records), default=0) + 1
    label = str(meta.get("label") or meta.get("agent", path.name))
    if str(meta.get("env", "")).endswith("PersonalSession-v0"):
        label += " (session)"
    planned = meta.get("planned_episodes")
    notes = []
    if isinstance(planned, int) and len(records) < planned:
        notes.append(f"incomplete: {len(records)} of {planned} episodes")
    if read.torn:
        notes.append("its last line was cut short")
    return {
        "path": path,
        "meta": meta,
        "label": label,
        "notes": notes,
        "records": records,
        "summary": summarize(records, label, trials),
    }


def _settings(run: dict[str, Any]) -> dict[str, Any]:
    """A run's defining settings, flattened (``env_kwargs.visibility``, ``seed``, ...)."""
    defining = run["meta"].get("defining") or {k: run["meta"].get(k) for k in ("env", "split", "seed", "trials", "env_kwargs")}
    flat: dict[str, Any] = {}
    for k, v in defining.items():
        if isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            flat[k] = v
    return flat


def label_runs(runs: list[dict[str, Any]]) -> None:
    """Runs that share a label are told apart by the settings that differ between them."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[run["label"]].append(run)
    for same in groups.values():
        if len(same) < 2:
            continue
        flats = [_settings(r) for r in same]
        keys = sorted({k for f in flats for k in f if len({json.dumps(g.get(k), sort_keys=True, default=str) for g in flats}) > 1})
        for run, flat in zip(same, flats, strict=True):
            shown = ", ".join(f"{k.split('.')[-1]}={json.dumps(flat.get(k), default=str)}" for k in keys) or f"dir={run['path'].name}"
            run["label"] += f" ({shown})"
    for run in runs:
        if run["notes"]:
            run["label"] += " [" + "; ".join(run["notes"]) + "]"


def _curve(records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Platform accuracy by session position: mean and std across users (each user averaged over trials)."""
    per_user: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        for t in r.get("tasks", []):
            if t.get("metrics") and t.get("kind") in PREFERENCE_KINDS:
                per_user[r["key"]][t["position"]].append(float(t["metrics"]["platforms"]))
    if not per_user:
        return None
    n = max(p for u in per_user.values() for p in u) + 1
    if n < 2:
        return None
    grid = np.full((len(per_user), n), np.nan)
    for i, u in enumerate(per_user.values()):
        for p, vals in u.items():
            grid[i, p] = np.mean(vals)
    x = np.arange(1, n + 1)
    with np.errstate(all="ignore"):
        return x, np.nanmean(grid, axis=0), np.nanstd(grid, axis=0)


def _plots(runs: list[dict[str, Any]], out: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    made = []
    colors = plt.get_cmap("tab10")
    # 1. PTBench's columns per agent
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / max(1, len(runs))
    x = np.arange(len(COLUMNS))
    for i, run in enumerate(runs):
        vals = [100 * min(1.0, run["summary"]["metrics"][c]) for c in COLUMNS]
        ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=run["label"], color=colors(i))
    ax.set_xticks(x, [SHORT_LABELS[c] for c in COLUMNS])
    ax.set_ylabel("% (PTBench column)")
    ax.set_ylim(0, 105)
    ax.set_title("PTBench's columns per agent (overall of the evaluated splits)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(4, len(runs)), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=110)
    plt.close(fig)
    made.append(("metrics.png", "PTBench's columns per agent"))
    # 2./3. overall success per scenario and per task kind
    for key, title, fname in (("scenarios", "per scenario", "scenarios.png"), ("kinds", "per task kind", "kinds.png")):
        groups = sorted({g for run in runs for g in run["summary"][key]})
        if not groups:
            continue
        fig, ax = plt.subplots(figsize=(11, 4.8))
        xg = np.arange(len(groups))
        for i, run in enumerate(runs):
            vals = [100 * run["summary"][key].get(g, {}).get("overall", 0.0) for g in groups]
            ax.bar(xg + i * width - 0.4 + width / 2, vals, width, label=run["label"], color=colors(i))
        ax.set_xticks(xg, [g.replace("_", "\n") for g in groups])
        ax.set_ylabel("overall success (%)")
        ax.set_ylim(0, 105)
        ax.set_title(f"Overall success {title}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(4, len(runs)), frameon=False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        made.append((fname, f"Overall success {title}"))
    # 4. learning curves of session runs
    curves = [(run, c) for run in runs if (c := _curve(run["records"])) is not None]
    if curves:
        fig, ax = plt.subplots(figsize=(9, 4.8))
        for i, (run, (xs, mean, std)) in enumerate(curves):
            ax.plot(xs, 100 * mean, marker="o", ms=3, label=run["label"], color=colors(i))
            ax.fill_between(xs, 100 * np.clip(mean - std, 0, 1), 100 * np.clip(mean + std, 0, 1), alpha=0.15, color=colors(i))
        ax.axhline(100 / 3, ls=":", color="grey", label="chance (1/3)")
        ax.set_xlabel("request number in the session")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("platform accuracy on preference requests (%)")
        ax.set_ylim(0, 105)
        ax.set_title("Learning within a session (mean over users, band: ± 1 std)")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "learning.png", dpi=110)
        plt.close(fig)
        made.append(("learning.png", "Learning curves of session runs"))
    return made


def validity(runs: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """The validity separation checks: (check, evidence, passed; None if a run is missing)."""
    by_agent = {str(r["meta"].get("agent", r["label"])): r for r in runs if not str(r["meta"].get("env", "")).endswith("Session-v0")}

    def m(agent: str, col: str) -> float | None:
        run = by_agent.get(agent)
        return None if run is None else float(run["summary"]["metrics"][col])

    def pref_platform(agent: str) -> float | None:
        run = by_agent.get(agent)
        if run is None:
            return None
        kinds = run["summary"]["kinds"]
        n = sum(kinds[k]["n"] for k in PREFERENCE_KINDS if k in kinds)
        return sum(kinds[k]["platforms"] * kinds[k]["n"] for k in PREFERENCE_KINDS if k in kinds) / n if n else None

    out: list[tuple[str, str, bool | None]] = []
    o = m("oracle", "overall")
    out.append(
        ("oracle solves every task (overall = 1.0)", "no oracle run" if o is None else f"overall {o:.3f}", None if o is None else o == 1.0)
    )
    for col in ("platforms", "profile_params"):
        h, b = m("heuristic", col), m("profile-blind", col)
        ok = None if h is None or b is None else h >= b + 0.2
        out.append((f"heuristic clearly above profile-blind on {col}", "missing run" if ok is None else f"{h:.3f} vs {b:.3f}", ok))
    p = pref_platform("profile-blind")
    out.append(
        (
            "profile-blind at chance on platform for preference tasks",
            "missing run" if p is None else f"{p:.3f} (chance 0.333)",
            None if p is None else abs(p - 1 / 3) < 0.08,
        )
    )
    r = m("random", "overall")
    out.append(("random near 0", "missing run" if r is None else f"overall {r:.3f}", None if r is None else r < 0.05))
    return out


def write_report(run_dirs: list[Path], out: Path) -> tuple[Path, Path]:
    runs = [load_run(p) for p in run_dirs]
    label_runs(runs)
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(runs, out)
    checks = validity(runs)
    md: list[str] = ["# ptenv evaluation report", ""]
    md += ["| run | env | split | episodes | tasks | errored | " + " | ".join(SHORT_LABELS[c] for c in COLUMNS) + " | reward |"]
    md += ["|---" * (7 + len(COLUMNS)) + "|"]
    for run in runs:
        s, meta = run["summary"], run["meta"]
        cells = " | ".join(f"{100 * s['metrics'][c]:.1f}" if s["tasks"] else "-" for c in COLUMNS)
        reward = f"{s['reward_mean']:.3f}" if s["episodes"] > s["errored"] else "-"
        md.append(
            f"| {run['label']} | {meta.get('env', '?')} | {meta.get('split', '?')} | {s['episodes']} | {s['tasks']} | {s['errored']} | {cells} | {reward} |"
        )
    md += [
        "",
        "Columns are PTBench's, in %; the overall row of several splits weights them by task count. The requests of an"
        " errored episode count as failures in every column; reward is the mean over finished episodes.",
        "",
    ]
    errored = [run for run in runs if run["summary"]["errored"]]
    if errored:
        md += ["## Errors", "", "| run | errored episodes | by type | first error |", "|---|---|---|---|"]
        for run in errored:
            s = run["summary"]
            kinds = ", ".join(f"{k} {n}" for k, n in s.get("error_types", {}).items())
            first = str(s.get("first_error", "")).replace("|", "/")[:300]
            md.append(f"| {run['label']} | {s['errored']} of {s['episodes']} | {kinds} | {first} |")
        md.append("")
    for fname, caption in plots:
        md += [f"## {caption}", "", f"![{caption}]({fname})", ""]
    md += ["## Validity separation", "", "| check | evidence | result |", "|---|---|---|"]
    for check, evidence, ok in checks:
        md.append(f"| {check} | {evidence} | {'pass' if ok else 'FAIL' if ok is False else 'not run'} |")
    md += ["", "Runs: " + ", ".join(f"`{r['path']}`" for r in runs), ""]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(_html(md), encoding="utf-8")
    return md_path, html_path


def _html(md: list[str]) -> str:
    """A small, dependency-free rendering of the report's Markdown (headings, tables, images)."""
    body: list[str] = []
    in_table = False
    for line in md:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
                body.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            body.append(f'<img src="{html.escape(src[:-1])}" alt="{html.escape(alt)}">')
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>ptenv report</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
