"""ptenv for `verifiers <https://github.com/PrimeIntellect-ai/verifiers>`_' ``GymEnv``.

``GymEnv`` (verifiers 0.1.9 to 0.3.x; 0.4 removed it, so the ``verifiers`` extra pins
``>=0.3.1,<0.4``) runs any object with ``reset(seed=)`` and ``step(action)`` as a multi-turn text
environment for LLM RL: each episode is a dataset row whose ``answer`` is the reset seed, the
model's reply text is the action, the observation text is the next user message, and the
episode's reward is the sum of the step rewards. :func:`gym_env_kwargs` gives everything
``vf.GymEnv(...)`` needs::

    import verifiers as vf
    from ptenv.rl.verifiers_adapter import gym_env_kwargs

    env = vf.GymEnv(**gym_env_kwargs("ptenv/PersonalTool-v0", eval_split="test_untrained"))

Nothing here imports verifiers. Decisions, with the library's behaviour they answer:

* **Held-out evaluation.** ``GymEnv`` makes train and eval rows from one ``env_kwargs``, eval
  seeds following train seeds. :class:`GymEnvAdapter` draws the seeds from ``seed +
  num_train_episodes`` on from ``eval_split``, so the eval rows are held-out users.
* **The whole episode is played.** ``GymEnv`` steps the model's last reply only on the next turn,
  so ``max_episode_steps`` is the env's own step limit (per request, times the requests of a
  session) plus one: ptenv, not the turn limit, ends every episode and scores it.
* **A reply that is not an action still steps.** An exception in ``action_parser`` ends a
  ``GymEnv`` episode with reward 0, so :func:`action_from_reply` never raises: it extracts a fenced
  block or the JSON object from a chatty reply, and otherwise passes the text on, which ptenv
  answers with an error observation and the invalid-action penalty, as it would any agent.
* **Hidden stays hidden.** Observations and ``info`` are the env's own (no gold unless the env
  was made with ``debug=True``); the seed in ``answer`` names no task.
"""

from __future__ import annotations

import json
import re
from typing import Any

import gymnasium as gym

from ptenv.core.actions import ActionError, parse_action
from ptenv.envs.base import BaseTaskEnv

SYSTEM_PROMPT = (
    "You are an assistant acting for a user through tools. Each user message is an observation of "
    "the environment, in JSON: first the user's request, what you know about them and the tools on "
    "offer; then the results of your calls. Reply with exactly one action and nothing else: a JSON "
    'tool call such as {"name": "<tool>", "arguments": {...}}, or a JSON list of them. Choose the '
    "platform this user would prefer in this situation, and fill arguments the user did not say from "
    'what you know about them. When the request is done, reply {"name": "finish"}.'
)

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.S)
_DECODER = json.JSONDecoder()


def action_from_reply(text: str) -> str:
    """The action in a model's reply: the reply itself if ptenv can read it, else the last fenced
    block, else the first JSON object in the prose, else the reply (ptenv answers an unreadable
    action with an error observation, so the episode goes on). Only ``json`` parses here."""
    stripped = str(text).strip()
    try:
        parse_action(stripped)
        return stripped
    except ActionError:
        pass
    blocks = _FENCE.findall(stripped)
    if blocks:
        return str(blocks[-1]).strip()
    for i, ch in enumerate(stripped):
        if ch == "{":
            try:
                value, _ = _DECODER.raw_decode(stripped, i)
            except json.JSONDecodeError:
                continue
            return json.dumps(value)
    return stripped


class GymEnvAdapter:
    """What ``GymEnv`` instantiates (``env_cls(**env_kwargs)``): a ptenv id behind ``reset(seed=)``,
    ``step`` and ``close``. Resets with ``seed >= eval_from_seed`` draw from ``eval_split``."""

    def __init__(
        self,
        env_id: str = "ptenv/PersonalTool-v0",
        split: str = "train",
        eval_split: str | None = None,
        eval_from_seed: int | None = None,
        **env_kwargs: Any,
    ):
        if (eval_split is None) != (eval_from_seed is None):
            raise ValueError("give eval_split and eval_from_seed together")
        self.env_id, self.split, self.eval_split, self.eval_from_seed = env_id, split, eval_split, eval_from_seed
        self.env_kwargs = env_kwargs
        self._envs: dict[str, gym.Env[str, str]] = {}
        self._env: gym.Env[str, str] | None = None

    def _env_for(self, seed: int | None) -> gym.Env[str, str]:
        use_eval = self.eval_split is not None and seed is not None and self.eval_from_seed is not None and seed >= self.eval_from_seed
        split = str(self.eval_split) if use_eval else self.split
        if split not in self._envs:
            self._envs[split] = gym.make(self.env_id, split=split, **self.env_kwargs)
        return self._envs[split]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        self._env = self._env_for(seed)
        return self._env.reset(seed=seed, options=options)

    def step(self, action: str) -> tuple[str, Any, bool, bool, dict[str, Any]]:
        if self._env is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self._env.step(action)
        return obs, float(reward), terminated, truncated, info

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs, self._env = {}, None


def gym_env_kwargs(
    env_id: str = "ptenv/PersonalTool-v0",
    split: str = "train",
    eval_split: str | None = "test_untrained",
    num_train_episodes: int = 1000,
    num_eval_episodes: int = 20,
    seed: int = 0,
    system_prompt: str = SYSTEM_PROMPT,
    **env_kwargs: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``verifiers.GymEnv``: train rows from ``split``, eval rows from
    ``eval_split`` (``None``: the same split, other seeds); ``env_kwargs`` go to the ptenv id."""
    probe = gym.make(env_id, split=split, **env_kwargs)
    inner = probe.unwrapped
    if not isinstance(inner, BaseTaskEnv):
        raise ValueError(f"{env_id} is not a text id of ptenv; GymEnv plays text envs")
    turns = inner.step_limit + 1
    probe.close()
    adapter_kwargs: dict[str, Any] = {"env_id": env_id, "split": split, **env_kwargs}
    if eval_split is not None:
        adapter_kwargs |= {"eval_split": eval_split, "eval_from_seed": seed + num_train_episodes}
    return {
        "env_cls": GymEnvAdapter,
        "env_kwargs": adapter_kwargs,
        "action_parser": action_from_reply,
        "obs_to_text": str,
        "num_train_episodes": num_train_episodes,
        "num_eval_episodes": num_eval_episodes,
        "max_episode_steps": turns,
        "seed": seed,
        "system_prompt": system_prompt,
    }
