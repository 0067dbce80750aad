"""ptenv for LLM RL trainers: prompts and a reward function in the shape TRL's ``GRPOTrainer`` uses.

* :func:`grpo_prompts` gives records ``{"prompt": [system, user messages], "task_id": ...}``;
  ``datasets.Dataset.from_list(...)`` makes the trainer's dataset of them. ``tools="json"`` (the
  default) puts PTBench's full tool JSON in the system prompt (every platform's tools: 9,000 to
  12,000 tokens for SmolLM2's tokenizer); ``tools="signatures"`` one line per tool under its
  platform's name (2,200 to 3,300 tokens), for a small model's context. ``task_ids`` picks tasks.
* :class:`PTEnvReward` is a reward function ``(completions, task_id, **kwargs) -> list[float]``:
  each completion (a string, or a list of messages whose last holds the text) is played as the
  answer of a fresh ``ptenv/PTBench-v0`` episode of that task and scored there (PTBench's
  ``overall`` by default, or the shaped terms). The gold never leaves the env.

Nothing here imports TRL: the adapter is plain Python, tested on its interface; ``examples/
trl_grpo.py`` shows it plugged into a trainer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ptenv.core.records import ONE_SHOT_KINDS, ptbench_prompt
from ptenv.envs.ptbench_env import PTBenchEnv
from ptenv.tools_registry.views import signature_line

#: What ``grpo_prompts(tools=...)`` takes: the full tool JSON, or one line per tool.
TOOL_VIEWS = ("json", "signatures")


def _system(obs: dict[str, Any], tools: str = "json") -> str:
    if tools == "json":
        return ptbench_prompt(obs["user_profile"], obs["platforms"], obs["tools"], str(obs["answer_format"]), obs.get("now"))
    return "\n\n".join(
        [
            "You help a user by choosing the platform they would prefer and the function calls that fulfil their request.",
            f"Current time: {obs.get('now') or 'unknown'}",
            f"User profile:\n{obs['user_profile'] or '(not available)'}",
            f"Platforms:\n{obs['platforms']}",
            "Tools of each platform (name(parameter: type, optional?: type): what it does):\n" + signature_lines(obs["tools"]),
            str(obs["answer_format"]),
        ]
    )


def signature_lines(tools_json: str) -> str:
    """PTBench's tool JSON (a list of definitions, each with its ``platform``) as one line per tool,
    grouped under each platform's name."""
    try:
        tools = json.loads(tools_json)
    except ValueError:
        tools = None
    if not isinstance(tools, list) or not all(isinstance(t, dict) and "name" in t for t in tools):
        raise ValueError("tools='signatures' needs the tools as a JSON list of definitions; these records have free text")
    lines: list[str] = []
    platform = None
    for t in tools:
        if t.get("platform") != platform:
            platform = t.get("platform")
            lines.append(f"{platform}:")
        lines.append(signature_line(t))
    return "\n".join(lines)


def grpo_prompts(
    split: str = "train",
    dataset: str = "ptenv-v1",
    limit: int | None = None,
    tools: str = "json",
    task_ids: Sequence[str] | None = None,
    **env_kwargs: Any,
) -> list[dict[str, Any]]:
    """Conversational prompts (system + user) with the task id each reward call needs: the split's
    tasks in order (the first ``limit``), or those of ``task_ids``. ``tools`` is ``"json"``
    (PTBench's full tool JSON) or ``"signatures"`` (one line per tool)."""
    if tools not in TOOL_VIEWS:
        raise ValueError(f"tools must be one of {TOOL_VIEWS}, got {tools!r}")
    env = PTBenchEnv(dataset=dataset, split=split, **env_kwargs)
    out = []
    keys = env.episode_keys() if task_ids is None else list(task_ids)
    for key in keys[:limit] if limit else keys:
        obs, _ = env.reset(options={"task_id": key})
        parts = json.loads(obs)
        system = _system(parts, tools)
        out.append({"prompt": [{"role": "system", "content": system}, {"role": "user", "content": parts["query"]}], "task_id": key})
    return out


class PTEnvReward:
    """A GRPO reward function scoring completions in ptenv/PTBench-v0."""

    def __init__(
        self,
        split: str = "train",
        dataset: str = "ptenv-v1",
        reward_mode: str = "sparse",
        scorer: str = "compat",
        kinds: Any = ONE_SHOT_KINDS,
    ):
        self.__name__ = f"ptenv_{reward_mode}"  # trainers log rewards under their function's name
        self._env = PTBenchEnv(dataset=dataset, split=split, reward_mode=reward_mode, scorer=scorer, kinds=kinds)

    def __call__(self, completions: list[Any], task_id: list[str], **kwargs: Any) -> list[float]:
        if len(completions) != len(task_id):
            raise ValueError(f"{len(completions)} completions for {len(task_id)} task ids")
        rewards = []
        for completion, tid in zip(completions, task_id, strict=True):
            text = completion if isinstance(completion, str) else (completion[-1].get("content", "") if completion else "")
            self._env.reset(options={"task_id": tid})
            _, reward, *_ = self._env.step(str(text))
            rewards.append(float(reward))
        return rewards
