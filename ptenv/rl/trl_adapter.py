"""ptenv for LLM RL trainers: prompts and a reward function in the shape TRL's ``GRPOTrainer`` uses.

* :func:`grpo_prompts` gives records ``{"prompt": [system, user messages], "task_id": ...}``;
  ``datasets.Dataset.from_list(...)`` makes the trainer's dataset of them.
* :class:`PTEnvReward` is a reward function ``(completions, task_id, **kwargs) -> list[float]``:
  each completion (a string, or a list of messages whose last holds the text) is played as the
  answer of a fresh ``ptenv/PTBench-v0`` episode of that task and scored there (PTBench's
  ``overall`` by default, or the shaped terms). The gold never leaves the env.

Nothing here imports TRL: the adapter is plain Python, tested on its interface; ``examples/
trl_grpo.py`` shows it plugged into a trainer.
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.core.records import ONE_SHOT_KINDS, ptbench_prompt
from ptenv.envs.ptbench_env import PTBenchEnv


def _system(obs: dict[str, Any]) -> str:
    return ptbench_prompt(obs["user_profile"], obs["platforms"], obs["tools"], str(obs["answer_format"]), obs.get("now"))


def grpo_prompts(split: str = "train", dataset: str = "ptenv-v1", limit: int | None = None, **env_kwargs: Any) -> list[dict[str, Any]]:
    """Conversational prompts (system + user) with the task id each reward call needs."""
    env = PTBenchEnv(dataset=dataset, split=split, **env_kwargs)
    out = []
    keys = env.episode_keys()
    for key in keys[:limit] if limit else keys:
        obs, _ = env.reset(options={"task_id": key})
        parts = json.loads(obs)
        out.append({"prompt": [{"role": "system", "content": _system(parts)}, {"role": "user", "content": parts["query"]}], "task_id": key})
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
