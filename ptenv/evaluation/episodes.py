"""Running episodes: the plan, one episode's loop (sync and async) and its record, and the
runner a process (or a Ray actor) keeps: its envs and its agent.

* **Plan.** Every task of the split (or a seeded sample), times ``trials``; for session envs, every
  user of the split. Each episode's seed is derived from (seed, task or user, trial), so results do
  not depend on the order episodes run in, nor on the number of workers.
* **Honesty.** An agent that raises, or an episode that never ends, is recorded as errored (the
  agent's error), as is an env that raises on a step (the env's error: a bug of ours); never
  silently scored 0. :mod:`ptenv.evaluation.results` says how errored episodes count.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from ptenv.core.agent import Agent, load_agent
from ptenv.core.sources import NoTaskMatches
from ptenv.envs.base import BaseTaskEnv
from ptenv.llm.client import scrub

#: ``--split test`` evaluates both test splits and weights them by task count (PTBench's overall).
TEST_SPLITS = ("test_trained", "test_untrained")

PlanItem = tuple[str, str, int]  # (split, task or user id, trial)


@dataclass(frozen=True)
class EvalSpec:
    """Everything a worker process needs to run episodes (picklable)."""

    env_id: str
    agent: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    max_actions: int = 500
    #: Keyword arguments for the agent's constructor (model, base_url, ... for LLM agents).
    agent_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Keep each error's traceback in its record (``--debug``).
    debug: bool = False


def episode_seed(seed: int, key: str, trial: int) -> int:
    return zlib.crc32(f"{seed}/{key}/{trial}".encode()) & 0x7FFFFFFF


def _task_env(env: gym.Env[Any, Any]) -> BaseTaskEnv:
    """The ptenv env inside ``env`` (evaluation runs text agents on the text ids)."""
    inner = env.unwrapped
    if not isinstance(inner, BaseTaskEnv):
        raise ValueError(
            f"{env.spec.id if env.spec else type(inner).__name__} is not a text env of ptenv; evaluate agents on a text id (see ptenv.ENV_IDS)"
        )
    return inner


def episode_plan(env_id: str, split: str, episodes: int | None, seed: int, env_kwargs: dict[str, Any], trials: int = 1) -> list[PlanItem]:
    """What to run: every task (users, for session envs) of each split, or a seeded sample of
    ``episodes`` per split, each ``trials`` times."""
    plan: list[PlanItem] = []
    splits = TEST_SPLITS if split == "test" else (split,)
    for sp in splits:
        try:
            env = gym.make(env_id, split=sp, **env_kwargs)
        except NoTaskMatches:
            if split == "test":  # filters may leave tasks in one of the two only (refusals do)
                continue
            raise
        keys = _task_env(env).episode_keys()
        env.close()
        if episodes is not None and episodes < len(keys):
            pick = np.random.default_rng(seed).choice(len(keys), size=episodes, replace=False)
            keys = [keys[i] for i in sorted(pick)]
        plan += [(sp, k, trial) for k in keys for trial in range(trials)]
    if not plan:
        filters = {k: env_kwargs[k] for k in ("dataset", "scenarios", "kinds") if k in env_kwargs}
        raise NoTaskMatches(f"no task of {' or '.join(splits)} matches {filters}")
    return plan


class _EpisodeLog:
    """Bookkeeping shared by the sync and async episode loops."""

    def __init__(self, env: gym.Env[str, str], agent: Any, key: str, seed: int):
        self.t0 = time.perf_counter()
        self.task_env = _task_env(env)
        self.key, self.seed = key, seed
        self.obs, self.info = env.reset(seed=seed, options=self.task_env.reset_options(key))
        agent.reset(seed=seed)
        bind = getattr(agent, "bind_env", None)
        if bind is not None:  # privileged (test-only) agents, such as the oracle
            bind(env)
        self.agent = agent
        self.trajectory: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.reward = 0.0
        self.ended = False
        self.env_error: Exception | None = None

    def step(self, env: gym.Env[str, str], action: str) -> bool:
        """Step the env and log it; True when the episode is over. The env never raises on an
        agent's action: if it does, that is an env bug, recorded as such (the episode ends)."""
        try:
            self.obs, reward, terminated, truncated, self.info = env.step(action)
        except Exception as exc:
            self.env_error = exc
            return True
        self.reward += float(reward)
        self.trajectory.append({"action": action, "reward": float(reward)})
        for result in self.task_env.closed_tasks(self.info):
            self.tasks.append({**result, "position": len(self.tasks)})
        self.ended = terminated or truncated
        return self.ended

    def result(self, max_actions: int, error: BaseException | None = None, source: str = "agent", debug: bool = False) -> dict[str, Any]:
        """The episode's record. An errored one says whose error it was: the agent's (it raised,
        or never ended the episode) or the env's (it raised on a step: a bug of ours); its
        unclosed requests are counted as failures (:meth:`BaseTaskEnv.abandon`)."""
        if self.env_error is not None:
            error, source = self.env_error, "env"
        message = error_type = None
        if error is not None:
            error_type, message = type(error).__name__, scrub(f"{type(error).__name__}: {error}")
        elif not self.ended:
            error_type, message = "NoEpisodeEnd", f"no episode end after {max_actions} actions"
        if message is not None:
            try:
                failed = self.task_env.abandon()
            except Exception:  # a broken env (an env error): its requests stay unscored
                failed = []
            self.tasks += [{**t, "position": len(self.tasks) + i} for i, t in enumerate(failed)]
        out = {
            "key": self.key,
            "task_id": self.key if self.task_env.episode_key == "task_id" else None,
            "seed": self.seed,
            "reward": self.reward,
            "reward_terms": self.info.get("reward_terms") if self.ended else None,
            "tasks": self.tasks,
            "steps": len(self.trajectory),
            "trajectory": self.trajectory,
            "seconds": round(time.perf_counter() - self.t0, 6),
            "usage": usage.as_dict() if (usage := getattr(self.agent, "usage", None)) is not None else None,
            "error": message,
        }
        if message is not None:
            out["error_source"], out["error_type"] = source, error_type
            if debug and error is not None:
                out["traceback"] = scrub("".join(traceback.format_exception(error)))
        return out


def run_episode(env: gym.Env[str, str], agent: Any, key: str, seed: int, max_actions: int = 500, debug: bool = False) -> dict[str, Any]:
    """One episode; returns its result record. Errors of the agent are recorded, never raised."""
    log = _EpisodeLog(env, agent, key, seed)
    for _ in range(max_actions):
        try:
            action = agent.act(log.obs)
        except Exception as exc:  # an agent crash is an errored episode, never a silent 0
            return log.result(max_actions, error=exc, source="agent", debug=debug)
        if log.step(env, action):
            break
    return log.result(max_actions, debug=debug)


async def run_episode_async(
    env: gym.Env[str, str], agent: Any, key: str, seed: int, max_actions: int = 500, debug: bool = False
) -> dict[str, Any]:
    """:func:`run_episode` for agents with ``aact`` (awaited) or ``act``."""
    log = _EpisodeLog(env, agent, key, seed)
    for _ in range(max_actions):
        try:
            action = await agent.aact(log.obs) if hasattr(agent, "aact") else agent.act(log.obs)
        except Exception as exc:
            return log.result(max_actions, error=exc, source="agent", debug=debug)
        if log.step(env, action):
            break
    return log.result(max_actions, debug=debug)


class _Runner:
    """Runs plan items in one process, keeping one env per split."""

    def __init__(self, spec: EvalSpec, agent: Agent | None = None):
        self.spec = spec
        self.agent = agent if agent is not None else load_agent(spec.agent, **spec.agent_kwargs)
        self.envs: dict[str, gym.Env[str, str]] = {}

    def env(self, split: str) -> gym.Env[str, str]:
        if split not in self.envs:
            self.envs[split] = gym.make(self.spec.env_id, split=split, **self.spec.env_kwargs)
        return self.envs[split]

    def run(self, item: PlanItem) -> dict[str, Any]:
        split, key, trial = item
        rec = run_episode(
            self.env(split), self.agent, key, episode_seed(self.spec.seed, key, trial), self.spec.max_actions, self.spec.debug
        )
        return {"split": split, "trial": trial, **rec}

    async def arun(self, item: PlanItem) -> dict[str, Any]:
        split, key, trial = item
        rec = await run_episode_async(
            self.env(split), self.agent, key, episode_seed(self.spec.seed, key, trial), self.spec.max_actions, self.spec.debug
        )
        return {"split": split, "trial": trial, **rec}

    def close(self) -> None:
        for e in self.envs.values():
            e.close()


_WORKER: _Runner | None = None


def _die_with_parent() -> None:
    """A worker ends when the evaluation that started it dies (a SIGKILL leaves no orphans)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:  # the kernel signals us the moment the parent dies
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
                if os.getppid() != parent:  # it died before we asked
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:  # elsewhere: notice that we were re-parented
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(spec: EvalSpec) -> None:
    global _WORKER
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the evaluation decides what to do, not each worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = _Runner(spec)


def _run_chunk(items: list[PlanItem]) -> list[dict[str, Any]]:
    assert _WORKER is not None
    return [_WORKER.run(i) for i in items]


def max_workers() -> int:
    """The most worker processes an evaluation may start: one per processor it may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call (macOS, Windows)
        return os.cpu_count() or 1
