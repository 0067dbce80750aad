"""Wrappers that make any ptenv id trainable by classic RL libraries.

* :class:`CandidateActions` turns the text action space into ``Discrete(K)``: at each step the
  agent picks one of K candidate tool calls built from what it may see
  (:mod:`ptenv.rl.candidates`); ``info["action_mask"]`` marks the real ones. An index that is not a
  candidate is sent as an unreadable action (penalised like any bad action). An action that is no
  index at all (a bool, a float, a string, None, out of range) raises a ``ValueError`` naming the
  space (:func:`discrete_index`): it is the caller's bug, not the agent's move.
* :class:`NumericObservation` turns the text observation into a fixed-size ``Box``: scenario,
  situation, named platform, the user's past choices, the stage, and per candidate its features.

``ptenv/PersonalTool-Numeric-v0`` and ``ptenv/PersonalSession-Numeric-v0`` are registered with
both applied (history visibility for the first; for the second a hidden profile, as in
``PersonalSession-v0``, read through look-ups, questions and the user's feedback).
"""

from __future__ import annotations

from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Box, Discrete

from ptenv.envs.base import BaseTaskEnv
from ptenv.rl.candidates import Candidate, CandidateBuilder, K, action_mask
from ptenv.rl.features import SIZE, features


def discrete_index(action: Any, space: Discrete) -> int:
    """``action`` as an index of ``space``; a ``ValueError`` naming the space if it is not one.

    Python ints and numpy integer scalars or 0-d arrays are indices (RL libraries pass those).
    Everything else is refused rather than converted: ``int()`` would turn 1.5 into 1, "3" into 3
    and True into 1, hiding an agent's bug, and would raise its own unhelpful errors on the rest."""
    value: int | None = None
    if isinstance(action, (bool, np.bool_)):
        pass  # a bool is an int to Python, never an index here
    elif isinstance(action, int):
        value = action
    elif isinstance(action, np.integer) or (
        isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer)
    ):
        value = int(action)
    first, n = int(space.start), int(space.n)
    if value is None or not first <= value < first + n:
        if isinstance(action, np.ndarray):
            kind = f"ndarray of {action.dtype}, shape {action.shape}"
        else:  # np.bool_ calls itself "bool": say it is numpy's
            kind = ("np." if isinstance(action, np.generic) else "") + type(action).__name__
        shown = repr(action)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ValueError(f"action must be an integer in {space} ({first}..{first + n - 1}), got {shown} ({kind})")
    return value


class CandidateActions(gym.ActionWrapper[str, Any, Any], gym.utils.RecordConstructorArgs):
    def __init__(self, env: gym.Env[str, str]):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        self._discrete: Discrete = Discrete(K)  # typed as what it is (action_space is typed as any Space)
        self.action_space = self._discrete
        self.builder = CandidateBuilder()
        self.candidates: list[Candidate] = []
        inner = env.unwrapped
        #: ptenv's own envs keep each observation as data: read it rather than parse the text
        self._text_env = inner if isinstance(inner, BaseTaskEnv) else None

    def _observe(self, obs: str) -> None:
        if self._text_env is not None:
            self.builder.observe_payload(self._text_env.last_payload)
        else:
            self.builder.observe(obs)
        self.candidates = self.builder.candidates()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.builder = CandidateBuilder()
        self._observe(obs)
        return obs, {**info, "action_mask": action_mask(self.candidates)}

    def action(self, action: Any) -> str:
        # a plain int in range is what RL libraries mostly pass: taken as it is (bool is an int
        # subclass, so the exact type is tested); anything else goes through the full check
        index = action if type(action) is int and 0 <= action < K else discrete_index(action, self._discrete)
        return self.builder.choose(index, self.candidates)

    def step(self, action: Any) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        self._observe(obs)
        if self._text_env is None:  # another env's info may be kept by it: a copy
            return obs, reward, terminated, truncated, {**info, "action_mask": action_mask(self.candidates)}
        info["action_mask"] = action_mask(self.candidates)  # ptenv's envs make a fresh info each step
        return obs, reward, terminated, truncated, info


class NumericObservation(gym.ObservationWrapper[np.ndarray, Any, Any], gym.utils.RecordConstructorArgs):
    """Needs :class:`CandidateActions` inside it (its builder holds the state the features read)."""

    def __init__(self, env: gym.Env[str, np.int64]):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        inner = env
        while not isinstance(inner, CandidateActions):
            if not isinstance(inner, gym.Wrapper):
                raise TypeError("NumericObservation wraps an env wrapped in CandidateActions")
            inner = inner.env
        self._cands = inner
        self.observation_space = Box(0.0, 1.0, shape=(SIZE,), dtype=np.float32)

    def observation(self, observation: str) -> np.ndarray:
        return features(self._cands.builder, self._cands.candidates)


class RequestResult(NamedTuple):
    """A closed request's result, as the numeric ids put it in ``info["result"]``.

    One value rather than the text ids' nested dicts: a vector env merges every key of every
    step's info into arrays, recursively, and with the text ids' ~35 keys that merging (and their
    pickling) cost the parent process about as much per step as the worker's env step
    (``gym.make_vec``, async). A named tuple: made in a fraction of a frozen dataclass's time, on
    every request's last step."""

    task_id: str
    scenario: str
    kind: str
    success: bool
    reward_terms: dict[str, float]
    metrics: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The result as the text ids report it (:data:`ptenv.envs.base.RESULT_KEYS`)."""
        return self._asdict()


class NumericEnv(gym.Env[np.ndarray, np.int64]):
    """
    ## Description
    A ptenv id with :class:`CandidateActions` and :class:`NumericObservation` applied, as one
    environment (so checkers and RL libraries see it as it is, not as a wrapped text env).

    ## Action Space
    ``Discrete(9)``: the candidate to take; ``info["action_mask"]`` marks the real ones.

    ## Observation Space
    ``Box(0, 1, (165,), float32)``: see :func:`ptenv.rl.features.features`.

    ## Starting State, Rewards, Episode End
    Those of the wrapped id (``env_id``).

    ## Information
    Only what an RL loop reads, so that a vector env's workers send little and its parent merges
    little (measured with ``ptenv bench --only vector``):

    * every step: ``action_mask`` (int8, ``K``), 1 for the real candidates;
    * after ``reset``: ``task_id`` too;
    * a step that closes a request: ``success`` (bool) and ``result``, a :class:`RequestResult`
      (task, kind, success, reward terms, PTBench's columns); :meth:`closed_tasks` reads it;
    * ``PersonalSession-Numeric-v0``'s last step: ``session`` (the session's summary);
    * with ``debug=True``: ``gold``, where the wrapped id puts it.

    ``full_info=True`` gives every key of the wrapped id's info instead (plus ``action_mask``).

    ## Arguments
    ``env_id`` (``"ptenv/PersonalTool-v0"``), ``full_info`` (False) and the wrapped id's keyword
    arguments.

    ## Version History
    * v0: initial version (its ``info`` made lean before any release, observations and rewards
      unchanged; ``full_info=True`` gives the former).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, env_id: str = "ptenv/PersonalTool-v0", render_mode: str | None = None, full_info: bool = False, **kwargs: Any):
        if not isinstance(full_info, bool):
            raise ValueError(f"full_info must be true or false, got {full_info!r}")
        self.render_mode = render_mode
        self.full_info = full_info
        base = gym.make(env_id, disable_env_checker=True, render_mode=render_mode, **kwargs)
        if not isinstance(base.unwrapped, BaseTaskEnv):
            raise ValueError(f"the numeric ids wrap a text id of ptenv, not {env_id!r}")
        self._text_env: BaseTaskEnv = base.unwrapped
        # the wrappers go straight onto the text env: this env is itself order-enforced, so a
        # second OrderEnforcing inside would only add a layer to every step
        self._cands = CandidateActions(self._text_env)
        self._env = NumericObservation(self._cands)
        # the wrappers read each observation as data: the text env need not encode it
        self._text_env.text_observations = False
        self.action_space = self._env.action_space
        self.observation_space = self._env.observation_space

    # reset and step call CandidateActions and the features themselves: what NumericObservation
    # does, one Python layer less on every step

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        # the text env draws its tasks from its own np_random: seed it from ours
        inner_seed = int(self.np_random.integers(2**31)) if seed is not None else None
        cands = self._cands
        _, info = cands.reset(seed=inner_seed, options=options)
        obs = features(cands.builder, cands.candidates)
        if self.full_info:
            return obs, info
        out = {"action_mask": info["action_mask"], "task_id": info["task_id"]}
        if "gold" in info:  # debug mode
            out["gold"] = info["gold"]
        return obs, out

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        cands = self._cands
        _, reward, terminated, truncated, info = cands.step(action)
        obs = features(cands.builder, cands.candidates)
        if self.full_info:
            return obs, reward, terminated, truncated, info
        out: dict[str, Any] = {"action_mask": info["action_mask"]}
        closed = self._text_env.closed_tasks(info)
        if closed:  # at most one request closes per step; only then are there more keys to pass on
            out["success"] = closed[0]["success"]
            out["result"] = RequestResult(**closed[0])
            for key in ("session", "gold"):
                if key in info:
                    out[key] = info[key]
        return obs, reward, terminated, truncated, out

    def episode_keys(self) -> list[str]:
        """The key of every episode this env can run (the wrapped text id's: task ids, or users for sessions)."""
        return self._text_env.episode_keys()

    def reset_options(self, key: str) -> dict[str, Any]:
        """The ``options`` of ``reset`` that start the episode of ``key``."""
        return self._text_env.reset_options(key)

    def closed_tasks(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        """The requests a step's ``info`` reports closed (see :meth:`ptenv.envs.base.BaseTaskEnv.closed_tasks`)."""
        result = info.get("result")
        if isinstance(result, RequestResult):
            return [result.as_dict()]
        return self._text_env.closed_tasks(info)

    def action_masks(self) -> np.ndarray:
        """The current candidates as booleans (sb3-contrib's MaskablePPO asks for this)."""
        return action_mask(self._cands.candidates).astype(bool)

    def render(self) -> Any:  # ansi text or None (Any: Gymnasium versions type render differently)
        return self._env.render()

    def close(self) -> None:
        self._env.close()


def make_numeric(env_id: str = "ptenv/PersonalTool-v0", **kwargs: Any) -> NumericEnv:
    """The numeric ids' entry point."""
    if kwargs.get("tool_view", "full") != "full":
        raise ValueError("the numeric ids build their candidates from every platform's tools: tool_view must be 'full'")
    return NumericEnv(env_id, **kwargs)
