"""``ptenv bench``'s own logic: budgets read as ratios or values, the table, the sections. The
figures themselves are never asserted (the machine is shared and noisy)."""

from __future__ import annotations

import json

from ptenv.cli.main import main
from ptenv.evaluation.bench import SECTIONS, _table
from ptenv.evaluation.bench_rows import Row
from ptenv.evaluation.bench_steps import BareTextEnv, make_bare


def test_a_budget_is_held_on_the_ratio_or_on_the_value() -> None:
    assert Row("s", "ratio within", 5.0, "µs", 3.9, "bare", (4.0, True, True)).ok is True
    assert Row("s", "ratio over", 5.0, "µs", 4.1, "bare", (4.0, True, True)).ok is False
    assert Row("s", "value within", 0.4, "s", 9.0, "bare", (0.5, True, False)).ok is True
    assert Row("s", "at least", 1.0, "x", 1.5, "one", (1.6, False, True)).ok is False
    assert Row("s", "no budget", 1.0, "x").ok is None


def test_the_table_names_each_floor_and_counts_nothing_it_does_not_budget() -> None:
    rows = [
        Row("steps", "bare: step", 1.5, "µs"),
        Row("steps", "tool step", 4.5, "µs", 3.0, "bare step", (4.0, True, True)),
        Row("llm", "eval", 250.0, "req/s", 0.78, "ideal", (0.9, False, True)),
    ]
    text = _table(rows)
    assert "[steps]" in text and "[llm]" in text
    assert "3.00x  bare step" in text and "<= 4x  yes" in text and ">= 0.9x  NO" in text


def test_the_bare_env_only_parses_its_action() -> None:
    env = make_bare()
    assert isinstance(env.unwrapped, BareTextEnv)
    assert env.reset(seed=0) == ("{}", {})
    assert env.step('{"name": "x"}')[:4] == ("{}", 0.0, False, False)


def test_one_section_runs_and_prints_json(capsys: object) -> None:
    assert "memory" in SECTIONS
    assert main(["bench", "--only", "memory", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    names = [r["name"] for r in out["rows"]]
    assert names == ["dataset, shared by a process's envs", "each env, reset"] and all(r["value"] > 0 for r in out["rows"])
    assert isinstance(out["loaded"], bool) and out["cpus"] >= 1
