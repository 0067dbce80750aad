"""Every agent, the agent table, and the evaluation modes (trials, workers, async concurrency)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ptenv.core.agent import AGENTS, Agent, AsyncAgent, load_agent
from ptenv.evaluation import evaluate, pass_hat_k

MINI = {"dataset": "ptenv-v1-mini"}


def test_every_builtin_agent_loads_and_unknown_ones_are_refused() -> None:
    for name in AGENTS:
        if name == "transformers":  # loads a model: tests/test_local_model.py runs it
            continue
        agent = load_agent(name)
        assert isinstance(agent, (Agent, AsyncAgent)) and agent.name
    with pytest.raises(ValueError, match="unknown agent"):
        load_agent("nobody")
    with pytest.raises(ValueError, match="cannot load"):
        load_agent("no.such.module:Agent")
    with pytest.raises(ValueError, match="neither"):
        load_agent("json:JSONDecoder")


@pytest.mark.parametrize("visibility", ["profile", "history", "hidden"])
def test_heuristic_solves_tasks_in_every_visibility(visibility: str) -> None:
    s = evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, env_kwargs={**MINI, "visibility": visibility}, progress=False)
    assert s["errored"] == 0 and s["metrics"]["overall"] == 1.0
    if visibility == "hidden":  # it had to pay for what it looked up
        assert s["reward_terms"]["penalty_lookups"] > 0


def test_oracle_is_one_and_labelled_test_only() -> None:
    s = evaluate("ptenv/PersonalTool-v0", "oracle", "test", None, env_kwargs=MINI, progress=False)
    assert s["metrics"]["overall"] == 1.0 and s["reward_mean"] == pytest.approx(1.0)
    assert "test-only" in load_agent("oracle").name
    with pytest.raises(RuntimeError, match="bind_env"):
        load_agent("oracle").act('{"type": "task"}')


def test_random_is_near_zero_and_profile_blind_never_uses_the_profile() -> None:
    r = evaluate("ptenv/PersonalTool-v0", "random", "test", None, env_kwargs=MINI, progress=False)
    assert r["metrics"]["overall"] < 0.05
    b = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test", None, env_kwargs={**MINI, "visibility": "hidden"}, progress=False)
    assert b["reward_terms"].get("penalty_lookups", 0) == 0 and b["reward_terms"].get("penalty_questions", 0) == 0
    assert b["metrics"]["profile_params"] < 0.1


def test_session_learner_improves_across_a_session() -> None:
    kw = {"tasks_per_session": 18, "scenarios": ["takeout"]}
    s = evaluate("ptenv/PersonalSession-v0", "learner", "test_untrained", None, env_kwargs=kw, trials=3, progress=False)
    pos = s["positions"]
    early = sum(pos[str(p)]["platforms"] for p in range(3)) / 3
    late = sum(pos[str(p)]["platforms"] for p in range(12, 18)) / 6
    assert late >= early + 0.2, (early, late)
    blind = evaluate("ptenv/PersonalSession-v0", "profile-blind", "test_untrained", None, env_kwargs=kw, trials=3, progress=False)
    assert s["metrics"]["platforms"] > blind["metrics"]["platforms"] + 0.15


def test_results_do_not_depend_on_workers_or_concurrency() -> None:
    runs = [
        evaluate("ptenv/PersonalTool-v0", "random", "test", None, env_kwargs=MINI, trials=2, progress=False, **par)  # type: ignore[arg-type]
        for par in ({}, {"workers": 2}, {"concurrency": 3})
    ]
    assert runs[0] == runs[1] == runs[2]


class SlowAsyncAgent:
    """An async agent that waits on 'I/O' and records how many episodes were in flight at once."""

    name = "slow-async"
    in_flight = 0
    peak = 0

    def __init__(self, seed: int | None = 0):
        from ptenv.agents.heuristic import HeuristicAgent

        self.inner = HeuristicAgent(seed)

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    async def aact(self, observation: str) -> str:
        cls = SlowAsyncAgent
        cls.in_flight += 1
        cls.peak = max(cls.peak, cls.in_flight)
        await asyncio.sleep(0.001)
        cls.in_flight -= 1
        return self.inner.act(observation)


def test_async_agents_run_concurrently_and_score_like_sync() -> None:
    SlowAsyncAgent.peak = 0
    s = evaluate(
        "ptenv/PersonalTool-v0",
        f"{__name__}:SlowAsyncAgent",
        "test_untrained",
        None,
        episodes=40,
        env_kwargs=MINI,
        concurrency=5,
        progress=False,
    )
    assert SlowAsyncAgent.peak == 5
    assert s["metrics"]["overall"] == 1.0 and s["episodes"] == 40


def test_pass_hat_k_keeps_errored_trials_as_failures() -> None:
    """One task, three trials: success, success, errored -> n = 3, c = 2: pass^1 = 2/3,
    pass^2 = C(2,2)/C(3,2) = 1/3, pass^3 = 0."""
    ok = {"split": "s", "key": "t", "error": None, "tasks": [{"success": True}]}
    records = [ok, dict(ok, trial=1), {"split": "s", "key": "t", "error": "boom", "tasks": []}]
    got = pass_hat_k(records, 3)
    assert got == pytest.approx({"pass^1": 2 / 3, "pass^2": 1 / 3, "pass^3": 0.0})


def test_a_killed_run_resumes_to_the_same_summary(tmp_path: Path) -> None:
    """Kill ``ptenv eval`` midway (SIGKILL), rerun it, and compare with an uninterrupted run."""
    args = [sys.executable, "-m", "ptenv", "eval", "--agent", "heuristic", "--split", "train", "--episodes", "3000", "--quiet", "--json"]
    out = tmp_path / "run"
    proc = subprocess.Popen([*args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.stat().st_size > 0 and len(results.read_bytes().splitlines()) >= 300:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines_at_kill = len(results.read_bytes().splitlines())
    assert 300 <= lines_at_kill < 3000
    resumed = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert json.loads(resumed.stdout) == json.loads(whole.stdout)
    keys = [(r["split"], r["key"], r["trial"]) for r in map(json.loads, results.read_text().splitlines())]
    assert len(keys) == len(set(keys)) == 3000  # nothing lost, nothing counted twice


def test_report_renders_with_plots(tmp_path: Path) -> None:
    from ptenv.evaluation.report import write_report

    mini = ["--dataset", "ptenv-v1-mini", "--split", "test"]
    session = ["--env", "ptenv/PersonalSession-v0", "--split", "test_untrained"]
    plan = [(a, mini) for a in ("oracle", "heuristic", "profile-blind", "random")] + [("learner", session)]
    runs = []
    for agent, extra in plan:
        d = tmp_path / (agent if extra is mini else "session")
        cmd = [sys.executable, "-m", "ptenv", "eval", "--agent", agent, *extra, "--quiet", "--out", str(d)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        runs.append(d)
    md, page = write_report(runs, tmp_path / "report")
    text = md.read_text()
    for png in ("metrics.png", "scenarios.png", "kinds.png", "learning.png"):
        data = (tmp_path / "report" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert png in text and png in page.read_text()
    assert "## Validity separation" in text and "FAIL" not in text
    assert text.count("| pass |") == 5
