"""Numbers you can trust: a run directory refuses what would make its figures wrong, errored
episodes are shown and counted as failures, reports never change their inputs, PTBench lines
keep their slots, LLM runs that could only error are refused up front, secrets never reach a
file or the console, and workers never outlive their evaluation."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ptenv import ptbench
from ptenv.core.agent import load_agent
from ptenv.evaluation import evaluate
from ptenv.evaluation.report import write_report
from ptenv.evaluation.rundir import RunDir, RunSettings
from ptenv.testing.loopback import Error, LoopbackLLM

MINI = {"dataset": "ptenv-v1-mini"}


def _eval(agent: Any, out: Path | None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("env_kwargs", dict(MINI))
    return evaluate("ptenv/PersonalTool-v0", agent, "test_untrained", out, episodes=kw.pop("episodes", 4), progress=False, **kw)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ptenv", *args], capture_output=True, text=True, timeout=300, env=env)


class Crashing:
    name = "crashing"

    def __init__(self, every: int = 1) -> None:
        self.every, self.seed = every, 0

    def reset(self, seed: int | None = None) -> None:
        self.seed = seed or 0

    def act(self, observation: str) -> str:
        if self.seed % self.every == 0:
            raise RuntimeError("boom")
        return '{"name": "finish"}'


# -- 1. resume refuses other settings ---------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"agent": "heuristic"}, "agent"),
        ({"seed": 1}, "seed"),
        ({"trials": 2}, "trials"),
        ({"episodes": 3}, "episodes"),
        ({"env_kwargs": {**MINI, "visibility": "hidden"}}, "env_kwargs"),
        ({"agent_kwargs": {"calls_per_task": 3}}, "agent_settings"),
    ],
)
def test_a_rerun_with_other_settings_is_refused_naming_what_differs(tmp_path: Path, change: dict[str, Any], named: str) -> None:
    first = _eval("random", tmp_path / "run")
    lines = (tmp_path / "run" / "results.jsonl").read_bytes()
    kw: dict[str, Any] = {"seed": 0, "trials": 1, "episodes": 4, **change}
    agent = kw.pop("agent", "random")
    with pytest.raises(ValueError, match=rf"holds a run with other settings \({named}:.*--overwrite"):
        _eval(agent, tmp_path / "run", **kw)
    assert (tmp_path / "run" / "results.jsonl").read_bytes() == lines  # nothing written
    assert json.loads((tmp_path / "run" / "run.json").read_text())["agent"] == "random"
    again = _eval("random", tmp_path / "run")  # the same settings still resume
    assert again == first
    over = _eval(agent, tmp_path / "run", overwrite=True, **kw)  # an explicit --overwrite starts over
    assert json.loads((tmp_path / "run" / "run.json").read_text())["agent"] == agent
    assert over["episodes"] == len((tmp_path / "run" / "results.jsonl").read_text().splitlines())


def test_two_evals_into_one_directory_cannot_both_write(tmp_path: Path) -> None:
    settings = RunSettings("ptenv/PersonalTool-v0", "random", "test_untrained", dict(MINI), episodes=4)
    busy = pytest.raises(ValueError, match=rf"being written by another ptenv eval \(pid {os.getpid()}\)")
    with RunDir(tmp_path / "run", settings, planned=4), busy:
        _eval("random", tmp_path / "run")
    _eval("random", tmp_path / "run")  # once the first is done, the directory is free


def test_a_damaged_results_file_is_refused_not_summarized(tmp_path: Path) -> None:
    _eval("random", tmp_path / "run")
    results = tmp_path / "run" / "results.jsonl"
    results.write_text(results.read_text() + "[1]\n")
    with pytest.raises(ValueError, match=r"line 5 is not a result record"):
        _eval("random", tmp_path / "run")
    with pytest.raises(ValueError, match=r"line 5 is not a result record"):
        write_report([tmp_path / "run"], tmp_path / "report")


def test_results_of_an_unknown_run_are_refused(tmp_path: Path) -> None:
    _eval("random", tmp_path / "run")
    (tmp_path / "run" / "run.json").unlink()
    with pytest.raises(ValueError, match="has results but no run.json"):
        _eval("random", tmp_path / "run")


# -- 3. reports show errored episodes and never change their inputs ----------------------------------
def test_a_report_counts_errored_episodes_as_failures_and_changes_nothing(tmp_path: Path) -> None:
    s = _eval(Crashing(), tmp_path / "crash")
    assert s["errored"] == s["episodes"] == s["tasks"] == 4 and s["metrics"]["overall"] == 0.0
    _eval("heuristic", tmp_path / "ok")
    results = tmp_path / "ok" / "results.jsonl"
    results.write_text(results.read_text() + '{"split": "test_untrained", "ke')  # an interrupted run
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    md, _ = write_report([tmp_path / "crash", tmp_path / "ok"], tmp_path / "report")
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before}
    assert after == before  # the runs' files are read, never rewritten
    text = md.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| test_runs:Crashing"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:6] == ["4", "4", "4"] and cells[-1] == "-"  # episodes, tasks, errored; no reward of errored runs
    assert "## Errors" in text and "RuntimeError (agent) 4" in text and "boom" in text
    assert "its last line was cut short" in text


def test_pass_k_counts_errored_trials_as_failures(tmp_path: Path) -> None:
    s = _eval(Crashing(every=2), tmp_path / "half", trials=2, episodes=6)
    recs = [json.loads(x) for x in (tmp_path / "half" / "results.jsonl").read_text().splitlines()]
    assert 0 < sum(r["error"] is not None for r in recs) < len(recs)
    md, _ = write_report([tmp_path / "half"], tmp_path / "report")
    from ptenv.evaluation.report import load_run

    assert load_run(tmp_path / "half")["summary"]["pass_k"] == s["pass_k"]
    assert s["pass_k"]["pass^2"] == 0.0  # every finished trial answers nothing, every other one errored


def test_runs_of_one_agent_with_other_settings_are_told_apart(tmp_path: Path) -> None:
    for vis in ("profile", "hidden"):
        _eval("heuristic", tmp_path / vis, env_kwargs={**MINI, "visibility": vis})
    md, _ = write_report([tmp_path / "profile", tmp_path / "hidden"], tmp_path / "report")
    text = md.read_text()
    assert '| heuristic (visibility="profile")' in text and '| heuristic (visibility="hidden")' in text


# -- 4. PTBench lines keep their slots --------------------------------------------------------------
def test_a_refused_record_keeps_its_slot(tmp_path: Path) -> None:
    data, gen = tmp_path / "data.json", tmp_path / "generation.jsonl"
    assert (
        _cli("data", "export", "--dataset", "ptenv-v1-mini", "--format", "ptbench", "--split", "test", "--out", str(data)).returncode == 0
    )
    assert _cli("ptbench", "predict", "--data", str(data), "--agent", "heuristic", "--out", str(gen)).returncode == 0
    whole = json.loads(_cli("ptbench", "score", "--data", str(data), "--predictions", str(gen), "--json").stdout)
    records = json.loads(data.read_text())
    del records[2]["answer"]  # one record is refused when read
    data.write_text(json.dumps(records))
    res = _cli("ptbench", "score", "--data", str(data), "--predictions", str(gen), "--json")
    assert res.returncode == 0
    part = json.loads(res.stdout)
    assert set(part) == {"acc", "errors"}  # stdout stays exactly PTBench's shape
    kept, _ = ptbench.load_records(records)
    expected = ptbench.score(kept, ptbench.load_predictions(gen), "compat", slots=len(records))
    assert part == {"acc": expected["acc"], "errors": expected["errors"]} and part["acc"]["format"] == 1.0  # no later line shifted
    assert part["acc"] != whole["acc"] and expected["refused"] == 1
    assert "record 2: missing field 'answer'" in res.stderr and "1 record(s) refused" in res.stderr
    # predict leaves the refused record's line empty, so the file still pairs line for line
    assert _cli("ptbench", "predict", "--data", str(data), "--agent", "heuristic", "--out", str(gen)).returncode == 0
    lines = gen.read_text().splitlines()
    assert len(lines) == len(records) and json.loads(lines[2])["predict"] is None
    assert json.loads(_cli("ptbench", "score", "--data", str(data), "--predictions", str(gen), "--json").stdout) == part


# -- 5. LLM runs that could only error ----------------------------------------------------------------
def _llm_env(key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    if key is not None:
        env["OPENAI_API_KEY"] = env["ANTHROPIC_API_KEY"] = key
    return env


def _one_line(res: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


@pytest.mark.parametrize("agent", ["openai", "anthropic"])
def test_an_llm_run_without_a_key_or_server_is_refused_before_the_first_episode(agent: str, tmp_path: Path) -> None:
    common = ["eval", "--agent", agent, "--dataset", "ptenv-v1-mini", "--split", "test_untrained", "--episodes", "2", "--quiet"]
    res = _cli(*common, "--model", "m", env=_llm_env(None))
    assert res.returncode == 2 and "_API_KEY" in _one_line(res)
    res = _cli(*common, "--model", "m", "--base-url", "http://127.0.0.1:9/v1", env=_llm_env("sk-x"))
    assert res.returncode == 2 and "cannot reach http://127.0.0.1:9/v1" in _one_line(res)
    with LoopbackLLM(api_key="sk-right-key-1234") as srv:
        base = srv.openai_base_url if agent == "openai" else srv.anthropic_base_url
        res = _cli(*common, "--model", "m", "--base-url", base, "--out", str(tmp_path / "run"), env=_llm_env("sk-wrong-key-9999"))
        assert res.returncode == 2 and "refused the key" in _one_line(res) and "sk-wrong-key-9999" not in res.stderr
        assert not srv.requests and not srv.listings  # the listing was refused; no completion was asked
        assert not (tmp_path / "run" / "results.jsonl").exists()


def test_when_every_episode_errors_the_console_says_why_and_the_exit_is_not_zero(tmp_path: Path) -> None:
    key = "sk-echoed-secret-77777"
    with LoopbackLLM() as srv:
        srv.handler = lambda provider, body: Error(401, message=f"Incorrect API key provided: {key}")
        common = ["eval", "--agent", "openai", "--dataset", "ptenv-v1-mini", "--split", "test_untrained", "--episodes", "3"]
        cmd = [*common, "--model", "m", "--base-url", srv.openai_base_url, "--no-preflight", "--quiet", "--max-retries", "0"]
        res = _cli(*cmd, "--json", "--out", str(tmp_path / "run"), "--no-cache", env=_llm_env(key))
        assert res.returncode == 1, res.stderr
        assert "errored: 3 of 3 episodes (AuthenticationError (agent) 3)" in res.stderr and "first error: AuthenticationError" in res.stderr
        assert json.loads(res.stdout)["errored"] == 3 and "Traceback" not in res.stderr
        debug = _cli(*cmd, "--debug", "--out", str(tmp_path / "dbg"), "--no-cache", env=_llm_env(key))
        assert "Traceback (most recent call last)" in debug.stderr and "AuthenticationError" in debug.stderr
    # 12. the key the server echoed is scrubbed from everything stored and printed
    for text in [res.stdout, res.stderr, debug.stdout, debug.stderr, *(p.read_text() for p in tmp_path.rglob("*") if p.is_file())]:
        assert key not in text
    assert "[redacted]" in (tmp_path / "run" / "results.jsonl").read_text()


def test_scrub_removes_configured_and_key_shaped_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from ptenv.llm.client import scrub

    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-a1b2c3d4e5")
    text = "401: key sk-proj-abcdefghijkl1234 rejected; token tok-a1b2c3d4e5; Authorization: Bearer abc.def.ghijkl; api_key='qwertyuiop'"
    out = scrub(text)
    assert "sk-proj" not in out and "tok-a1b2" not in out and "abc.def" not in out and "qwertyuiop" not in out
    assert out.count("[redacted]") == 4 and out.startswith("401: key [redacted] rejected")


# -- 10. no orphans ------------------------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_evaluation(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ptenv",
            "eval",
            "--agent",
            "random",
            "--split",
            "train",
            "--workers",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def children() -> list[int]:
        kids = []
        for task in Path(f"/proc/{proc.pid}/task").glob("*"):
            kids += [int(x) for x in (task / "children").read_text().split()]
        return kids

    workers: list[int] = []
    for _ in range(600):  # until both workers run (no duration asserted: the loop just waits)
        if (tmp_path / "r" / "results.jsonl").exists() and len(workers := children()) >= 2:
            break
        time.sleep(0.1)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(600):
        alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"workers outlived the evaluation: {alive}"


def test_load_agent_names_a_class_not_any_callable() -> None:
    with pytest.raises(ValueError, match="not an agent class"):
        load_agent("os:system")


def test_episodes_run_with_the_heap_frozen_and_it_is_thawed_after(tmp_path: Path) -> None:
    import gc

    from ptenv.agents.heuristic import HeuristicAgent

    class Watching(HeuristicAgent):
        seen: list[int] = []

        def act(self, observation: str) -> str:
            self.seen.append(gc.get_freeze_count())
            return super().act(observation)

    agent = Watching(seed=0)
    assert gc.get_freeze_count() == 0
    summary = evaluate("ptenv/PersonalTool-v0", agent, "test", None, episodes=3, progress=False)
    assert summary["episodes"] == 6 and agent.seen and min(agent.seen) > 0  # the dataset left out of collections
    assert gc.get_freeze_count() == 0  # and given back
    gc.freeze()  # a heap someone else froze stays frozen
    try:
        frozen = gc.get_freeze_count()
        evaluate("ptenv/PersonalTool-v0", agent, "test", None, episodes=1, progress=False)
        assert gc.get_freeze_count() > frozen // 2  # not thawed (a few frozen objects may be freed)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("mode", [[], ["--workers", "2"], ["--concurrency", "4"]], ids=["sequential", "workers", "concurrency"])
def test_ctrl_c_stops_cleanly_keeps_finished_episodes_and_says_how_to_resume(mode: list[str], tmp_path: Path) -> None:
    srv = LoopbackLLM(latency=0.1).start()
    srv.handler = lambda provider, body: "X:[f(a=1)]"
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "ptenv", "eval", "--env", "ptenv/PTBench-v0", "--agent", "ptbench-text", "--model", "m"]
    argv += ["--base-url", srv.openai_base_url, "--split", "test", "--episodes", "30", "--out", str(out), "--no-cache", *mode]
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (results.exists() and len(results.read_text().splitlines()) >= 3):
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        _, err = proc.communicate(timeout=120)
        kept = len(results.read_text().splitlines())
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert f"interrupted: {kept} of 60 episodes are kept in {results}; run the same command again to resume" in err
        assert 3 <= kept < 60
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert again.returncode == 0, again.stderr
        keys = [(r["split"], r["key"], r["trial"]) for r in map(json.loads, results.read_text().splitlines())]
        assert len(keys) == 60 == len(set(keys))
    finally:
        srv.close()
