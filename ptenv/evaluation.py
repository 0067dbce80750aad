"""Running an agent over a split and summarizing it in PTBench's columns.

Results are JSON lines, one per finished episode, appended and flushed as each finishes; a rerun
with the same output file skips the episodes already there, so an interrupted run resumes without
losing or double-counting an episode. The summary is computed from the file, never from memory.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ptenv.agent import Agent
from ptenv.scoring import COLUMNS, ERRORS, aggregate, combine, record_from_dict

#: ``--split test`` evaluates both test splits and weights them by task count (PTBench's overall).
TEST_SPLITS = ("test_trained", "test_untrained")


def episode_plan(env_id: str, split: str, episodes: int | None, seed: int, env_kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    """(split, task_id) pairs to run: every task, or a seeded sample of ``episodes`` per split."""
    plan = []
    for sp in TEST_SPLITS if split == "test" else (split,):
        env = gym.make(env_id, split=sp, **env_kwargs)
        ids = [t.id for t in env.unwrapped.tasks]  # type: ignore[attr-defined]
        env.close()
        if episodes is not None and episodes < len(ids):
            pick = np.random.default_rng(seed).choice(len(ids), size=episodes, replace=False)
            ids = [ids[i] for i in sorted(pick)]
        plan += [(sp, i) for i in ids]
    return plan


def run_episode(env: gym.Env[str, str], agent: Agent, task_id: str, seed: int, max_actions: int = 200) -> dict[str, Any]:
    """One episode; returns its result line. Errors of the agent are recorded, not raised."""
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    agent.reset(seed=seed)
    trajectory: list[dict[str, Any]] = []
    error = None
    reward_sum = 0.0
    try:
        for _ in range(max_actions):
            action = agent.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            reward_sum += float(reward)
            trajectory.append({"action": action, "reward": float(reward)})
            if terminated or truncated:
                break
        else:
            error = f"no episode end after {max_actions} actions"
    except Exception as exc:  # an agent crash is an errored episode, never a silent 0
        error = f"{type(exc).__name__}: {exc}"
    done = "metrics" in info
    return {
        "task_id": task_id,
        "scenario": info.get("scenario"),
        "kind": info.get("kind"),
        "seed": seed,
        "reward": reward_sum,
        "reward_terms": info.get("reward_terms"),
        "metrics": info.get("metrics"),
        "steps": len(trajectory),
        "trajectory": trajectory,
        "seconds": round(time.perf_counter() - t0, 6),
        "error": error if error or done else "episode did not end",
    }


def evaluate(
    env_id: str,
    agent: Agent,
    split: str,
    out: Path | None,
    episodes: int | None = None,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    env_kwargs = env_kwargs or {}
    plan = episode_plan(env_id, split, episodes, seed, env_kwargs)
    done: dict[str, dict[str, Any]] = {}
    if out is not None and out.exists():
        kept = []
        for line in out.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill: that episode runs again
                continue
            kept.append(line)
            if rec.get("error") is None:  # errored episodes are retried on resume
                done[rec["task_id"]] = rec
        # rewrite without the cut line before appending, atomically
        tmp = out.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        tmp.replace(out)
    envs: dict[str, gym.Env[str, str]] = {}
    todo = [(sp, tid) for sp, tid in plan if tid not in done]
    sink = out.open("a", encoding="utf-8") if out is not None else None
    t0 = time.perf_counter()
    try:
        for n, (sp, tid) in enumerate(todo, 1):
            if sp not in envs:
                envs[sp] = gym.make(env_id, split=sp, **env_kwargs)
            rec = run_episode(envs[sp], agent, tid, seed)
            rec["split"] = sp
            done[tid] = rec
            if sink is not None:
                sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                sink.flush()
            if progress and (n % 200 == 0 or n == len(todo)):
                ok = [r for r in done.values() if r.get("metrics")]
                score = sum(r["metrics"]["overall"] for r in ok) / max(1, len(ok))
                rate = n / max(1e-9, time.perf_counter() - t0)
                print(f"\r{len(done)}/{len(plan)} episodes  overall {score:.3f}  {rate:.0f} ep/s", end="", file=sys.stderr, flush=True)
    finally:
        if sink is not None:
            sink.close()
        for e in envs.values():
            e.close()
    if progress and todo:
        print(file=sys.stderr)
    return summarize([done[tid] for _, tid in plan if tid in done], agent_name=getattr(agent, "name", "agent"))


def summarize(records: list[dict[str, Any]], agent_name: str = "agent") -> dict[str, Any]:
    """PTBench's columns per split and weighted overall, per scenario and kind, errors, rewards."""
    scored = [r for r in records if r.get("metrics")]
    by_split: dict[str, list[Any]] = defaultdict(list)
    by_scenario: dict[str, list[Any]] = defaultdict(list)
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for r in scored:
        rec = record_from_dict(r["metrics"])
        by_split[r.get("split", "all")].append(rec)
        by_scenario[r["scenario"]].append(rec)
        by_kind[r["kind"]].append(rec)
    splits = {s: aggregate(v) for s, v in sorted(by_split.items())}
    overall = combine(list(splits.values())) if splits else aggregate([])
    terms: dict[str, float] = defaultdict(float)
    for r in scored:
        for k, v in (r.get("reward_terms") or {}).items():
            terms[k] += v / len(scored)
    return {
        "agent": agent_name,
        "episodes": len(records),
        "errored": sum(r.get("error") is not None for r in records),
        "metrics": overall["acc"],
        "errors": overall["errors"],
        "splits": {s: _row(v) for s, v in splits.items()},
        "scenarios": {s: _row(aggregate(x)) for s, x in sorted(by_scenario.items())},
        "kinds": {s: _row(aggregate(x)) for s, x in sorted(by_kind.items())},
        "reward_mean": sum(r["reward"] for r in scored) / len(scored) if scored else 0.0,
        "reward_terms": dict(terms),
    }


def _row(agg: dict[str, Any]) -> dict[str, Any]:
    return {"n": agg["n"], **agg["acc"], "totals": agg["totals"]}


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as plain-text tables (PTBench's columns as percentages)."""
    short = {
        "format": "format",
        "platforms": "platform",
        "tool_names": "tools",
        "tool_param_names": "params",
        "tool_param_values": "values",
        "query_params": "query",
        "profile_params": "profile",
        "overall": "overall",
    }
    head = f"{'':<24}{'n':>6}" + "".join(f"{short[c]:>10}" for c in COLUMNS)

    def cell(acc: dict[str, Any], c: str) -> str:
        if acc.get("totals", {}).get(c) == 0:  # no such parameters in these tasks: not applicable
            return f"{'-':>10}"
        return f"{100 * acc[c]:>10.1f}"

    def row(name: str, n: int, acc: dict[str, Any]) -> str:
        return f"{name:<24}{n:>6}" + "".join(cell(acc, c) for c in COLUMNS)

    lines = [f"agent: {summary['agent']}   episodes: {summary['episodes']}   errored: {summary['errored']}", "", head]
    for s, v in summary["splits"].items():
        lines.append(row(s, v["n"], v))
    lines.append(row("overall (weighted)", sum(v["n"] for v in summary["splits"].values()), summary["metrics"]))
    for title, key in (("by scenario", "scenarios"), ("by task kind", "kinds")):
        lines += ["", f"{title:<24}"]
        lines += [row(s, v["n"], v) for s, v in summary[key].items()]
    lines += ["", "errors: " + ", ".join(f"{e} {summary['errors'][e]}" for e in ERRORS)]
    terms = summary["reward_terms"]
    lines.append(
        f"reward: mean {summary['reward_mean']:.3f}  ("
        + ", ".join(f"{k} {v:.3f}" for k, v in terms.items() if not k.startswith("penalty"))
        + ")"
    )
    return "\n".join(lines)
