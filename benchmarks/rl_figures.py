"""Every figure of docs/rl.md, from one command: ``python benchmarks/rl_figures.py [--out runs/rl]``.

Trains the numpy bandit (and MaskablePPO when the ``rl`` extra is installed) with seed 0 on the
train split, evaluates the checkpoints and the reference agents on the held-out users of
``test_untrained``, prints a Markdown table per section with the training time, and copies the
curves docs/rl.md shows into ``docs/img`` (``--no-docs`` leaves them alone). Run it pinned to one
core (``taskset -c 0``) to measure the single-core budget. It takes under a minute on one core.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from ptenv.evaluation import evaluate
from ptenv.evaluation.report import write_report
from ptenv.rl.train import train_bandit, train_ppo

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
SESSION = "ptenv/PersonalSession-v0"
FACTS_18 = {"visibility": "facts", "tasks_per_session": 18, "scenarios": ["takeout"]}


def _train(kind: str, env_id: str, steps: int, out: Path, env_kwargs: dict[str, Any] | None = None) -> tuple[Path, float]:
    t0 = time.perf_counter()
    trainer = train_bandit if kind == "bandit" else train_ppo
    trainer(env_id, steps, out, seed=0, env_kwargs=env_kwargs, progress=False)
    return out / ("checkpoint.npz" if kind == "bandit" else "checkpoint.zip"), time.perf_counter() - t0


def _eval(env_id: str, agent: str, env_kwargs: dict[str, Any], run: tuple[Path, str] | None = None, trials: int = 1) -> dict[str, Any]:
    """Evaluate on the held-out users; with ``run`` (directory, label) keep a run ``ptenv report`` reads."""
    results = None
    if run is not None:
        run[0].mkdir(parents=True, exist_ok=True)
        (run[0] / "run.json").write_text(json.dumps({"env": env_id, "agent": run[1], "env_kwargs": env_kwargs}) + "\n")
        results = run[0] / "results.jsonl"
    s = evaluate(env_id, agent, "test_untrained", results, env_kwargs=env_kwargs, progress=False, trials=trials)
    terms = s.get("reward_terms") or {}
    return {"platform": 100 * s["metrics"]["platforms"], "overall": 100 * s["metrics"]["overall"], "reward": terms.get("total")}


def _table(title: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    print(f"\n### {title}\n\n| agent | training | platform | overall | mean reward per request |\n|---|---|---|---|---|")
    for name, training, r in rows:
        reward = "" if r["reward"] is None else f"{r['reward']:.3f}"
        print(f"| {name} | {training} | {r['platform']:.1f} | {r['overall']:.1f} | {reward} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/rl"), help="where runs and checkpoints go (default: runs/rl)")
    ap.add_argument("--no-docs", action="store_true", help="do not copy curves into docs/img")
    ap.add_argument("--no-ppo", action="store_true", help="skip MaskablePPO")
    args = ap.parse_args()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)  # evaluation resumes from what a directory holds: start clean
    history = {"visibility": "history"}

    # 1. one request per episode, history visible
    ckpt, secs = _train("bandit", "ptenv/PersonalTool-Numeric-v0", 20_000, out / "bandit")
    rows = [("numpy bandit", f"20,000 steps, {secs:.1f} s", _eval("ptenv/PersonalTool-v0", str(ckpt), history))]
    if not args.no_ppo:
        ckpt, secs = _train("ppo", "ptenv/PersonalTool-Numeric-v0", 20_480, out / "ppo")
        rows.append(("MaskablePPO", f"20,480 steps, {secs:.1f} s", _eval("ptenv/PersonalTool-v0", str(ckpt), history)))
    rows.append(("profile-blind", "", _eval("ptenv/PersonalTool-v0", "profile-blind", history)))
    _table("Single requests, history visible (ptenv/PersonalTool-v0)", rows)

    # 2. sessions with the profile hidden (PersonalSession-v0's default): look-ups and questions
    rows = []
    for steps in (3_000, 30_000):
        ckpt, secs = _train("bandit", "ptenv/PersonalSession-Numeric-v0", steps, out / f"session_bandit_{steps}")
        rows.append((f"numpy bandit ({steps:,} steps)", f"{secs:.1f} s", _eval(SESSION, str(ckpt), {}, trials=3)))
    for agent in ("oracle", "learner", "profile-blind"):
        rows.append((agent, "", _eval(SESSION, agent, {}, trials=3)))
    _table("Sessions of 10 requests, profile hidden (ptenv/PersonalSession-v0, 3 trials)", rows)

    # 3. sessions where feedback is the only source of preferences (facts visible)
    ckpt, secs = _train("bandit", "ptenv/PersonalSession-Numeric-v0", 30_000, out / "facts_bandit", {"visibility": "facts"})
    rows18: list[tuple[str, str, dict[str, Any]]] = []
    rows10: list[tuple[str, str, dict[str, Any]]] = []
    for agent, name in (
        (str(ckpt), "numpy bandit (30,000 steps)"),
        ("oracle", "oracle"),
        ("learner", "learner"),
        ("profile-blind", "profile-blind"),
    ):
        run = (out / "facts18" / name.split(" ")[0], name.split(" (")[0])
        rows18.append((name, f"{secs:.1f} s" if agent == str(ckpt) else "", _eval(SESSION, agent, FACTS_18, run, trials=3)))
        rows10.append((name, "", _eval(SESSION, agent, {"visibility": "facts"}, trials=3)))
    _table("Sessions of 18 takeout requests, feedback only (visibility facts, 3 trials)", rows18)
    _table("Sessions of 10 mixed requests, feedback only (visibility facts, 3 trials)", rows10)

    md, _ = write_report(sorted((out / "facts18").iterdir()), out / "report_facts18")
    print(f"\nsession learning curves: {md.parent / 'learning.png'}")
    if not args.no_docs:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "bandit" / "curve.png", DOCS_IMG / "bandit_curve.png")
        shutil.copy(md.parent / "learning.png", DOCS_IMG / "bandit_session_curve.png")
        shutil.copy(out / "session_bandit_30000" / "curve.png", DOCS_IMG / "bandit_hidden_session_curve.png")
        if not args.no_ppo:
            shutil.copy(out / "ppo" / "curve.png", DOCS_IMG / "ppo_curve.png")
            shutil.copy(out / "ppo" / "curve.csv", DOCS_IMG / "ppo_curve.csv")
        print(f"copied the curves into {DOCS_IMG}")


if __name__ == "__main__":
    main()
