"""The on-disk dataset cache: the same bytes as generating, never a stale or damaged file, safe
when processes build at once, JSON only, and off when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptenv.scenarios import cache as dataset_cache
from ptenv.scenarios.dataset import DATASETS, Dataset, generate, read_or_generate

MINI = DATASETS["ptenv-v1-mini"]


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PTENV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_cached_dataset_is_the_generated_one(cache_dir: Path) -> None:
    first = read_or_generate(MINI)
    assert first.origin == "generated" and len(list(cache_dir.iterdir())) == 2
    again = read_or_generate(MINI)
    assert again.origin == "cache"
    assert again.jsonl_bytes() == first.jsonl_bytes() and again.checksum() == generate(MINI).checksum()
    for split in ("train", "test_trained", "test_untrained", "test", "all"):
        assert again.split(split) == first.split(split)
    assert again.users == first.users and again.tasks == first.tasks


def test_only_the_split_asked_for_is_read(cache_dir: Path) -> None:
    read_or_generate(MINI)
    ds = read_or_generate(MINI)
    test = ds.split("test_untrained")
    assert len(ds._by_id) == len(test) < len(ds._order)  # the other tasks are still unread JSON


def test_a_damaged_or_stale_file_is_rebuilt_never_used(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = read_or_generate(MINI).jsonl_bytes()
    data = next(p for p in cache_dir.iterdir() if p.suffix == ".jsonl")
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0x20  # one flipped bit inside a task
    data.write_bytes(bytes(damaged))
    assert dataset_cache.read(MINI) is None
    rebuilt = read_or_generate(MINI)
    assert rebuilt.origin == "generated" and data.read_bytes() == good
    data.write_bytes(good[: len(good) // 3])  # torn
    assert dataset_cache.read(MINI) is None
    read_or_generate(MINI)
    assert dataset_cache.read(MINI) == good
    # a change to the generator gives another key: the old file is not found
    monkeypatch.setattr(dataset_cache, "generator_digest", lambda: "another generator")
    assert dataset_cache.read(MINI) is None and read_or_generate(MINI).origin == "generated"


def test_the_cache_is_json_text_not_pickle(cache_dir: Path) -> None:
    read_or_generate(MINI)
    data = next(p for p in cache_dir.iterdir() if p.suffix == ".jsonl")
    lines = data.read_text(encoding="utf-8").splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert json.loads(next(p for p in cache_dir.iterdir() if p.suffix == ".json").read_text())["sha256"]
    assert Dataset.from_jsonl(MINI, b"not a dataset\n") is None


def test_processes_building_at_once_both_succeed(tmp_path: Path) -> None:
    env = {**os.environ, "PTENV_CACHE_DIR": str(tmp_path / "shared")}
    code = "from ptenv.scenarios import load_dataset; print(load_dataset('ptenv-v1-mini').checksum())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert len({o[0].strip() for o in outs}) == 1 and outs[0][0].strip() == generate(MINI).checksum()
    assert not [p for p in (tmp_path / "shared").iterdir() if p.suffix == ".tmp"]  # no half-written file left


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTENV_CACHE_DIR", "off")
    assert dataset_cache.cache_dir() is None and dataset_cache.read(MINI) is None
    assert read_or_generate(MINI).origin == "generated"
    monkeypatch.delenv("PTENV_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dataset_cache.cache_dir() == tmp_path / "xdg" / "ptenv"


def test_the_registry_keeps_its_tool_schemas(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ptenv.tools_registry import SCENARIOS, Registry, ToolSpec, load_scenario

    built = Registry(load_scenario(s) for s in SCENARIOS)  # not the built-in one: never cached
    first = Registry.load_builtin()
    assert first.tool_definitions_json("travel") == built.tool_definitions_json("travel")
    entry = next(p for p in cache_dir.iterdir() if p.name.startswith("tool-schemas-") and p.suffix == ".data")
    good = entry.read_bytes()

    def no_building(self: ToolSpec) -> dict[str, object]:
        raise AssertionError("schema built although it was kept on disk")

    expected = {sc: (built.tool_definitions_json(sc), built.tool_definitions(sc), built.ptbench_prompt_parts(sc)) for sc in SCENARIOS}
    with monkeypatch.context() as m:
        m.setattr(ToolSpec, "parameters_schema", no_building)
        again = Registry.load_builtin()
        for sc in SCENARIOS:
            assert (again.tool_definitions_json(sc), again.tool_definitions(sc), again.ptbench_prompt_parts(sc)) == expected[sc]
    entry.write_bytes(good.replace(b'"travel"', b'"travle"', 1))  # damaged: rebuilt, never used
    assert Registry.load_builtin().tool_definitions_json("travel") == built.tool_definitions_json("travel")
    assert entry.read_bytes() == good


def test_a_task_s_meta_is_read_without_parsing_it(cache_dir: Path) -> None:
    read_or_generate(MINI)
    ds = read_or_generate(MINI)
    assert ds.origin == "cache"
    for t in generate(MINI).tasks:
        assert ds.meta(t.id) == (t.user_id, t.scenario, t.kind)
    assert not ds._by_id  # nothing parsed for it
    assert ds.split_users("test_untrained") == sorted({t.user_id for t in ds.split("test_untrained")})


def test_an_env_parses_only_the_tasks_it_runs(cache_dir: Path) -> None:
    code = (
        "import gymnasium as gym, ptenv; from ptenv.scenarios import load_dataset;"
        "e = gym.make('ptenv/PersonalTool-v0', dataset='ptenv-v1-mini', scenarios=['travel'], kinds=['multi_call']);"
        "n = len(load_dataset('ptenv-v1-mini')._by_id); e.reset(seed=0); e.reset(seed=1);"
        "print(n, len(load_dataset('ptenv-v1-mini')._by_id), len(e.unwrapped.episode_keys()))"
    )
    env = {**os.environ, "PTENV_CACHE_DIR": str(cache_dir)}
    for _ in range(2):  # the first run builds the cache
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
    before, after, keys = (int(x) for x in out.stdout.split())
    expected = [t.id for t in generate(MINI).split("train") if t.scenario == "travel" and t.kind == "multi_call"]
    assert before == 0 and 1 <= after <= 2 and keys == len(expected) > 2
