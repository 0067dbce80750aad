"""Every bad input to the command line gets one line on stderr saying what is wrong and what is
accepted, and a non-zero exit (2 for a user's mistake); never a traceback. Run in-process through
``ptenv.cli.main`` (the console script's entry point), so the table stays fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ptenv.cli import main

EVAL = ["eval", "--dataset", "ptenv-v1-mini", "--split", "test_untrained", "--episodes", "2", "--quiet"]
SESSION = [*EVAL, "--env", "ptenv/PersonalSession-v0"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("inputs")
    (d / "a_dir").mkdir()
    (d / "a_file.txt").write_text("not a directory\n")
    (d / "notjson.json").write_text("{ this is not json")
    (d / "binary.bin").write_bytes(b"\xff\xfe\x00\x81 binary")
    (d / "records.json").write_text(json.dumps([{"query": "q", "user_profile": "p", "platforms": "x", "tools": "t", "answer": ["A", []]}]))
    (d / "refused.json").write_text(json.dumps([{"query": "q"}]))
    (d / "preds.jsonl").write_text('{"query": "q", "predict": "A:[]"}\n')
    # a bandit checkpoint whose metadata is a list, not an object
    np.savez(d / "badmeta.npz", theta=np.zeros(18), meta=json.dumps([1, 2, 3]))
    (d / "garbage.npz").write_bytes(b"PK\x03\x04 not a real archive")
    run = d / "damaged_run"
    run.mkdir()
    (run / "results.jsonl").write_text("[1]\n")
    (run / "run.json").write_text("{}")
    (d / "badrun").mkdir()
    (d / "badrun" / "results.jsonl").write_text("")
    (d / "badrun" / "run.json").write_text("{ not json")
    names = [
        "a_dir",
        "a_file.txt",
        "notjson.json",
        "binary.bin",
        "records.json",
        "refused.json",
        "preds.jsonl",
        "badmeta.npz",
        "garbage.npz",
    ]
    return {n.split(".")[0]: str(d / n) for n in [*names, "damaged_run", "badrun"]} | {"root": str(d)}


BAD: list[tuple[str, list[str]]] = [
    ("trials 0", [*EVAL, "--trials", "0"]),
    ("trials negative", [*EVAL, "--trials", "-3"]),
    ("trials huge", [*EVAL, "--trials", "1000000000"]),
    ("trials not a number", [*EVAL, "--trials", "x"]),
    ("episodes 0", [*EVAL, "--episodes", "0"]),
    ("episodes negative", [*EVAL, "--episodes", "-1"]),
    ("workers 0", [*EVAL, "--workers", "0"]),
    ("workers negative", [*EVAL, "--workers", "-2"]),
    ("workers beyond the machine", [*EVAL, "--workers", "100000"]),
    ("concurrency 0", [*EVAL, "--concurrency", "0"]),
    (
        "workers and concurrency",
        [*EVAL, "--agent", "openai", "--base-url", "http://127.0.0.1:9/v1", "--workers", "2", "--concurrency", "2"],
    ),
    ("max tokens negative", [*EVAL, "--max-tokens", "-5"]),
    ("timeout negative", [*EVAL, "--timeout", "-1"]),
    ("timeout not finite", [*EVAL, "--timeout", "inf"]),
    ("temperature negative", [*EVAL, "--temperature", "-1"]),
    ("temperature nan", [*EVAL, "--temperature", "nan"]),
    ("max retries negative", [*EVAL, "--max-retries", "-1"]),
    ("seed negative", [*EVAL, "--seed", "-1"]),
    ("unknown env", [*EVAL, "--env", "nosuch/Env-v0"]),
    ("numeric env to eval", [*EVAL, "--env", "ptenv/PersonalTool-Numeric-v0"]),
    ("unknown env arg", [*EVAL, "--env-arg", "bogus=1"]),
    ("env arg max_steps text", [*EVAL, "--env-arg", "max_steps=x"]),
    ("env arg max_steps infinite", [*EVAL, "--env-arg", "max_steps=1e400"]),
    ("env arg max_steps 0", [*EVAL, "--env-arg", "max_steps=0"]),
    ("env arg NaN", [*EVAL, "--env-arg", "max_steps=NaN"]),
    ("env arg split", [*EVAL, "--env-arg", "split=train"]),
    ("env arg scenarios as a string", [*EVAL, "--env-arg", "scenarios=takeout"]),
    ("env arg unknown scenario", [*EVAL, "--env-arg", 'scenarios=["nowhere"]']),
    ("env arg kinds number", [*EVAL, "--env-arg", "kinds=5"]),
    (
        "no task in either test split",
        [
            "eval",
            "--dataset",
            "ptenv-v2-mini",
            "--split",
            "test",
            "--quiet",
            "--env-arg",
            'kinds=["refusal"]',
            "--env-arg",
            'scenarios=["travel"]',
        ],
    ),
    ("env arg without =", [*EVAL, "--env-arg", "noequals"]),
    ("env arg without key", [*EVAL, "--env-arg", "=1"]),
    ("env arg visibility", [*EVAL, "--env-arg", "visibility=sideways"]),
    ("env arg reward mode", [*EVAL, "--env-arg", "reward_mode=dense"]),
    ("env arg scorer", [*EVAL, "--env-arg", "scorer=lenient"]),
    ("env arg debug", [*EVAL, "--env-arg", "debug=maybe"]),
    ("session of 0 tasks", [*SESSION, "--env-arg", "tasks_per_session=0"]),
    ("session too long", [*SESSION, "--env-arg", "tasks_per_session=1000000"]),
    ("session longer than any user's tasks", [*SESSION, "--env-arg", "tasks_per_session=5000"]),
    ("unknown agent", [*EVAL, "--agent", "nosuch"]),
    ("LLM option to a scripted agent", [*EVAL, "--agent", "random", "--model", "x"]),
    ("agent that is not a class", [*EVAL, "--agent", "os:system"]),
    ("agent module not found", [*EVAL, "--agent", "nosuchmodule:Agent"]),
    ("agent class not found", [*EVAL, "--agent", "ptenv.agents.heuristic:Nope"]),
    ("missing checkpoint", [*EVAL, "--agent", "{root}/missing.npz"]),
    ("checkpoint metadata a list", [*EVAL, "--agent", "{badmeta}"]),
    ("checkpoint not an archive", [*EVAL, "--agent", "{garbage}"]),
    ("unknown split", [*EVAL, "--split", "nosuch"]),
    ("unknown dataset", [*EVAL, "--dataset", "nosuch"]),
    ("unknown visibility", [*EVAL, "--visibility", "sideways"]),
    ("out is a file", [*EVAL, "--out", "{a_file}"]),
    ("damaged results", [*EVAL, "--out", "{damaged_run}"]),
    ("openai without a key or server", [*EVAL, "--agent", "openai", "--model", "m"]),
    ("openai against a dead server", [*EVAL, "--agent", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]),
    ("unknown option", [*EVAL, "--bogus-flag"]),
    ("report of a missing directory", ["report", "{root}/nowhere"]),
    ("report of a file", ["report", "{a_file}"]),
    ("report with a broken run.json", ["report", "{badrun}"]),
    ("report of damaged results", ["report", "{damaged_run}"]),
    ("report out is a file", ["report", "{damaged_run}", "--out", "{a_file}"]),
    ("ptbench score without inputs", ["ptbench", "score"]),
    ("ptbench score missing data", ["ptbench", "score", "--data", "{root}/missing.json", "--predictions", "{preds}"]),
    ("ptbench score missing predictions", ["ptbench", "score", "--data", "{records}", "--predictions", "{root}/missing.jsonl"]),
    ("ptbench score data not JSON", ["ptbench", "score", "--data", "{notjson}", "--predictions", "{preds}"]),
    ("ptbench score data not text", ["ptbench", "score", "--data", "{binary}", "--predictions", "{preds}"]),
    ("ptbench score predictions not text", ["ptbench", "score", "--data", "{records}", "--predictions", "{binary}"]),
    ("ptbench score without predictions", ["ptbench", "score", "--data", "{records}"]),
    ("ptbench score uneven inputs", ["ptbench", "score", "--data", "{records}", "--data", "{records}", "--predictions", "{preds}"]),
    ("ptbench score unknown scorer", ["ptbench", "score", "--data", "{records}", "--predictions", "{preds}", "--scorer", "x"]),
    ("ptbench predict into a directory", ["ptbench", "predict", "--data", "{records}", "--agent", "heuristic", "--out", "{a_dir}"]),
    (
        "ptbench predict with no readable record",
        ["ptbench", "predict", "--data", "{refused}", "--agent", "heuristic", "--out", "{root}/g.jsonl"],
    ),
    ("ptbench predict unknown agent", ["ptbench", "predict", "--data", "{records}", "--agent", "nosuch", "--out", "{root}/g.jsonl"]),
    ("ptbench check missing", ["ptbench", "check", "--data", "{root}/missing.json"]),
    ("data export into a directory", ["data", "export", "--dataset", "ptenv-v1-mini", "--out", "{a_dir}"]),
    ("data export unknown format", ["data", "export", "--format", "xml", "--out", "{root}/x"]),
    (
        "data export unknown split",
        ["data", "export", "--dataset", "ptenv-v1-mini", "--format", "ptbench", "--split", "nosuch", "--out", "{root}/x"],
    ),
    ("data stats unknown dataset", ["data", "stats", "--dataset", "nosuch"]),
    ("train steps negative", ["train", "--steps", "-5", "--out", "{root}/t"]),
    ("train steps 0", ["train", "--steps", "0", "--out", "{root}/t"]),
    ("train on a text id", ["train", "--env", "ptenv/PersonalTool-v0", "--out", "{root}/t"]),
    ("train an agent that does not train", ["train", "--agent", "learner", "--out", "{root}/t"]),
    ("train out is a file", ["train", "--dataset", "ptenv-v1-mini", "--out", "{a_file}"]),
    ("synth n negative", ["synth", "users", "--n", "-1", "--out", "{root}/s"]),
    ("synth n 0", ["synth", "users", "--n", "0", "--out", "{root}/s"]),
    ("synth unknown scenario", ["synth", "apis", "--scenario", "nowhere", "--out", "{root}/s"]),
    (
        "synth against a dead server",
        ["synth", "users", "--n", "1", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", "--out", "{root}/s"],
    ),
    ("synth into a directory", ["synth", "users", "--n", "1", "--out", "{a_dir}"]),
    ("bench repeats 0", ["bench", "--repeats", "0"]),
    ("eval context of 0 tokens", ["eval", "--agent", "openai", "--model", "m", "--context-tokens", "0"]),
    ("eval ptbench-text one platform at a time", [*EVAL, "--agent", "ptbench-text", "--model", "m", "--tool-view", "platform_first"]),
    ("eval on a Ray cluster nobody runs", ["eval", "--agent", "heuristic", "--backend", "ray", "--address", "127.0.0.1:1"]),
    ("train on a Ray cluster nobody runs", ["train", "--agent", "rllib-ppo", "--address", "127.0.0.1:1", "--out", "{a_dir}/r"]),
    ("eval address without the ray backend", ["eval", "--agent", "heuristic", "--address", "127.0.0.1:6379"]),
    ("eval unknown backend", ["eval", "--agent", "heuristic", "--backend", "dask"]),
    ("eval ray with 0 actors", ["eval", "--agent", "heuristic", "--backend", "ray", "--workers", "0"]),
    ("train env runners for the bandit", ["train", "--agent", "bandit", "--env-runners", "2", "--out", "{a_dir}/t"]),
    ("train env runners 0", ["train", "--agent", "rllib-ppo", "--env-runners", "0", "--out", "{a_dir}/t"]),
    ("train address for ppo", ["train", "--agent", "ppo", "--address", "x:1", "--out", "{a_dir}/t"]),
    ("bench rounds not a number", ["bench", "--rounds", "many"]),
    ("bench unknown section", ["bench", "--only", "steps,warp"]),
    ("bench no section", ["bench", "--only", ","]),
    ("unknown command", ["nosuchcommand"]),
]


@pytest.mark.parametrize(("what", "argv"), BAD, ids=[w for w, _ in BAD])
def test_a_bad_input_is_one_line_and_a_nonzero_exit(
    what: str, argv: list[str], files: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    try:
        code = main([a.format(**files) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (what, code, err)
    assert len(lines) == 1 and "Traceback" not in err, (what, err)
    assert len(lines[0]) < 600, (what, lines[0])


def test_the_table_is_long_enough() -> None:
    assert len(BAD) >= 60


def test_outputs_are_written_into_folders_made_for_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command that writes a file makes the folders it needs (export used not to)."""
    out = tmp_path / "new" / "deeper" / "data.json"
    assert (
        main(["data", "export", "--dataset", "ptenv-v1-mini", "--format", "ptbench", "--split", "test_untrained", "--out", str(out)]) == 0
    )
    assert json.loads(out.read_text())
    run = tmp_path / "a" / "b" / "run"
    assert main([*EVAL, "--agent", "random", "--out", str(run), "--json"]) == 0
    assert (run / "results.jsonl").exists() and (run / "summary.json").exists()
    capsys.readouterr()
