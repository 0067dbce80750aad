"""The command line and the evaluation runner: machine-readable output, resume, validity separation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ptenv.core.agent import load_agent
from ptenv.evaluation import evaluate
from ptenv.scoring import COLUMNS, ERRORS


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ptenv", *args], capture_output=True, text=True, timeout=300)


def test_registry_json() -> None:
    res = run_cli("registry", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"scenarios", "platforms", "tools", "invalid_schemas"} <= set(data)
    assert len(data["scenarios"]) == 5 and len(data["platforms"]) == 15 and len(data["tools"]) == 360
    assert data["invalid_schemas"] == []


def test_data_stats_json() -> None:
    res = run_cli("data", "stats", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["users"] >= 100 and data["tasks"] >= 10_000
    assert set(data["splits"]) == {"train", "test_trained", "test_untrained"}
    assert all({"users", "tasks"} <= set(v) for v in data["splits"].values())
    assert set(data["kinds"]) == {"tool_preference", "preference_and_profile", "profile_dependent", "explicit_platform", "multi_call"}
    assert data["gold_validation_errors"] == 0 and data["gold_execution_errors"] == 0


def test_clear_errors_for_bad_input() -> None:
    res = run_cli("eval", "--agent", "nobody", "--episodes", "1")
    assert res.returncode == 2 and "unknown agent" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("eval", "--split", "nope", "--episodes", "1")
    assert res.returncode == 2 and "unknown split" in res.stderr


def test_eval_json_summary_has_ptbench_columns() -> None:
    res = run_cli("eval", "--agent", "heuristic", "--split", "test", "--episodes", "20", "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["episodes"] == 40  # 20 per test split
    assert list(data["metrics"]) == list(COLUMNS) and list(data["errors"]) == list(ERRORS)
    assert "reward_mean" in data and set(data["splits"]) == {"test_trained", "test_untrained"}


def test_interrupted_run_resumes_to_the_same_summary(tmp_path: Path) -> None:
    kw = {"dataset": "ptenv-v1-mini"}
    agent = load_agent("heuristic")
    full = evaluate("ptenv/PersonalTool-v0", agent, "test", tmp_path / "a", env_kwargs=kw, progress=False)
    lines = (tmp_path / "a" / "results.jsonl").read_text().splitlines()
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "run.json", tmp_path / "b" / "run.json")
    cut = tmp_path / "b" / "results.jsonl"
    # a run killed halfway: half the lines, and the next one cut short mid-write
    cut.write_text("\n".join(lines[: len(lines) // 2]) + "\n" + lines[len(lines) // 2][:40])
    resumed = evaluate("ptenv/PersonalTool-v0", agent, "test", tmp_path / "b", env_kwargs=kw, progress=False)
    assert resumed == full
    assert len(cut.read_text().splitlines()) == len(lines)  # nothing lost, nothing twice
    again = evaluate("ptenv/PersonalTool-v0", agent, "test", tmp_path / "b", env_kwargs=kw, progress=False)
    assert again == full and len(cut.read_text().splitlines()) == len(lines)


def test_an_agent_crash_is_recorded_not_scored_zero(tmp_path: Path) -> None:
    class Crashing:
        name = "crashing"

        def reset(self, seed: int | None = None) -> None:
            pass

        def act(self, observation: str) -> str:
            raise RuntimeError("boom")

    summary = evaluate(
        "ptenv/PersonalTool-v0",
        Crashing(),
        "test_untrained",
        tmp_path / "c",
        episodes=3,
        env_kwargs={"dataset": "ptenv-v1-mini"},
        progress=False,
    )
    # errored, shown, and counted as failures: each episode's request is scored unanswered
    assert summary["episodes"] == 3 and summary["errored"] == 3 and summary["tasks"] == 3 and summary["errored_tasks"] == 3
    assert summary["metrics"]["overall"] == 0.0 and summary["metrics"]["format"] == 0.0
    assert summary["error_types"] == {"RuntimeError (agent)": 3} and "boom" in summary["first_error"]
    recs = [json.loads(x) for x in (tmp_path / "c" / "results.jsonl").read_text().splitlines()]
    assert all("boom" in r["error"] and r["error_source"] == "agent" and [t["errored"] for t in r["tasks"]] == [True] for r in recs)


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        a: evaluate("ptenv/PersonalTool-v0", load_agent(a), "test", None, progress=False) for a in ("heuristic", "profile-blind", "random")
    }


def test_validity_separation(summaries: dict[str, dict]) -> None:  # type: ignore[type-arg]
    h, b, r = (summaries[a] for a in ("heuristic", "profile-blind", "random"))
    assert h["metrics"]["platforms"] >= b["metrics"]["platforms"] + 0.3
    assert h["metrics"]["profile_params"] >= b["metrics"]["profile_params"] + 0.5
    assert r["metrics"]["overall"] < 0.05
    # blind is at chance on platform for preference tasks
    for kind in ("tool_preference", "preference_and_profile", "multi_call"):
        assert 0.25 <= b["kinds"][kind]["platforms"] <= 0.42, (kind, b["kinds"][kind]["platforms"])


def test_hidden_mode_heuristic_pays_for_lookups() -> None:
    s = evaluate(
        "ptenv/PersonalTool-v0",
        load_agent("heuristic"),
        "test_untrained",
        None,
        episodes=60,
        env_kwargs={"visibility": "hidden"},
        progress=False,
    )
    assert s["metrics"]["overall"] > 0.9
    assert s["reward_terms"]["penalty_lookups"] > 0 and s["reward_mean"] < 1.0
