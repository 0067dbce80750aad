"""In-process timings for ``ptenv bench``: ptenv's hot paths beside a bare Gymnasium env.

Every ptenv figure here has a floor measured in the same process, in interleaved rounds, through
the same ``gym.make`` wrappers: :class:`BareTextEnv`, a text env whose step only ``json.loads``
its action. A ratio to it says what ptenv adds, whatever the machine's speed or load. The numeric
ids are compared with the text id they wrap, taking the very same actions.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from ptenv.envs.spaces import UnicodeText

BARE_ID = "ptenv-bench/BareText-v0"
#: A catalogue search on a takeout platform: what the tool-step rows time.
SEARCH = json.dumps({"name": "quickbite__search_dishes", "arguments": {"keyword": "curry", "max_price": 15}})


class BareTextEnv(gym.Env[str, str]):
    """The floor of a text env: ``reset`` returns ``"{}"``, ``step`` parses its action and nothing else."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = UnicodeText()
        self.action_space = UnicodeText()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        return "{}", {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        json.loads(action)
        return "{}", 0.0, False, False, {}


def make_bare() -> gym.Env[str, str]:
    if BARE_ID not in gym.registry:
        gym.register(BARE_ID, entry_point=BareTextEnv)  # type: ignore[arg-type]
    return gym.make(BARE_ID)


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Nanoseconds of one call."""
    t = time.perf_counter_ns()
    fn(*args, **kwargs)
    return time.perf_counter_ns() - t


def _med_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1e3


def scripts(env: gym.Env[str, str], agent_name: str, keys: list[str]) -> list[tuple[str, list[str]]]:
    """An agent's actions on each task (replayed later, so no agent time is measured)."""
    from ptenv.core.agent import load_agent

    agent: Any = load_agent(agent_name)  # by name: product code never imports an agent
    out = []
    for key in keys:
        obs, _ = env.reset(options={"task_id": key})
        agent.reset(seed=0)
        actions: list[str] = []
        while True:
            actions.append(str(agent.act(obs)))
            obs, _, term, trunc, _ = env.step(actions[-1])
            if term or trunc:
                break
        out.append((key, actions))
    return out


def step_figures(rounds: int = 5, steps: int = 200) -> dict[str, float]:
    """Reset, tool step (at step 1, over the episode, at steps 100-200), finishing step with its
    scoring, and scripted rollouts; each with the bare env's figure from the same rounds."""
    bare = make_bare()
    env = gym.make("ptenv/PersonalTool-v0", split="test", max_steps=10_000)
    task_env: Any = env.unwrapped
    keys: list[str] = task_env.episode_keys()
    takeout = next(k for k in keys if task_env.source.info(k).scenario == "takeout")
    # finishing trajectories: the heuristic's (solved) and the profile-blind agent's (mostly not)
    finishes = scripts(env, "heuristic", keys[::7]) + scripts(env, "profile-blind", keys[3::7])
    for key in keys:  # one warm pass: every task read and its views worked out once
        env.reset(options={"task_id": key})
    for key, actions in finishes:  # and the gold of those scored
        env.reset(options={"task_id": key})
        for a in actions:
            env.step(a)
    s: dict[str, list[int]] = {
        k: [] for k in ("bare_reset", "reset", "bare_first", "first", "bare", "step", "late", "bare_finish", "finish")
    }
    bare.reset(seed=0)
    bare.step(SEARCH)
    for r in range(rounds):
        for i in range(200):
            key = keys[(r * 200 + i) % len(keys)]
            s["bare_reset"].append(_timed(bare.reset))
            s["reset"].append(_timed(env.reset, options={"task_id": key}))
        for _ in range(10):  # ten episodes of each, step by step
            bare.reset()
            bare_times = [_timed(bare.step, SEARCH) for _ in range(steps)]
            env.reset(options={"task_id": takeout})
            times = [_timed(env.step, SEARCH) for _ in range(steps)]
            s["bare_first"].append(bare_times[0])
            s["first"].append(times[0])
            s["bare"] += bare_times[1:]
            s["step"] += times[1:]
            s["late"] += times[100:]
        for key, actions in finishes[r::rounds]:
            env.reset(options={"task_id": key})
            for a in actions[:-1]:
                env.step(a)
            s["finish"].append(_timed(env.step, actions[-1]))
            bare.reset()  # the bare env at the same point: after the same actions
            for a in actions[:-1]:
                bare.step(a)
            s["bare_finish"].append(_timed(bare.step, actions[-1]))
    # scripted rollouts (resets included), the heuristic's actions replayed
    solved = finishes[: len(keys[::7])]
    t0, n = time.perf_counter(), 0
    for key, actions in solved:
        env.reset(options={"task_id": key})
        for a in actions:
            env.step(a)
            n += 1
    rate = n / (time.perf_counter() - t0)
    env.close()
    bare.close()
    return {k: _med_us(v) for k, v in s.items()} | {"scripted_steps_per_s": rate}


def numeric_figures(rounds: int = 5, episodes: int = 300) -> dict[str, float]:
    """Reset and step of ``PersonalTool-Numeric-v0`` and of the text id it wraps
    (``PersonalTool-History-v0``) taking the same actions: a policy's picks replayed as text."""
    num = gym.make("ptenv/PersonalTool-Numeric-v0", split="test")
    text = gym.make("ptenv/PersonalTool-History-v0", split="test")
    inner: Any = num.unwrapped
    keys = inner.episode_keys()[:episodes]
    plans = []
    for key in keys:  # the first candidates that are calls, then finish (candidate 0)
        _, info = num.reset(options={"task_id": key})
        picks: list[int] = []
        actions: list[str] = []
        for stage in range(6):
            cands = inner._env._cands.candidates
            j = next((i for i, c in enumerate(cands) if c.kind != "finish"), 0) if stage < 2 else 0
            picks.append(j)
            actions.append(cands[j].action)
            _, _, term, trunc, info = num.step(j)
            if term or trunc:
                break
        plans.append((key, picks, actions))
    s: dict[str, list[int]] = {"numeric_reset": [], "text_reset": [], "numeric_step": [], "text_step": []}
    for r in range(rounds + 1):  # round 0 warms both (every task seen once by each)
        for key, picks, actions in plans:
            a = _timed(num.reset, options={"task_id": key})
            steps_n = [_timed(num.step, j) for j in picks]
            b = _timed(text.reset, options={"task_id": key})
            steps_t = [_timed(text.step, x) for x in actions]
            if r:
                s["numeric_reset"].append(a)
                s["text_reset"].append(b)
                s["numeric_step"] += steps_n
                s["text_step"] += steps_t
    num.close()
    text.close()
    return {k: _med_us(v) for k, v in s.items()}


class BareNumericEnv(gym.Env[np.ndarray, np.int64]):
    """The floor of a vector env of the numeric ids: their spaces and a mask in ``info``, no work.
    Episodes of 4 steps (the random picks' episodes average ~3.6)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self) -> None:
        from ptenv.rl.candidates import K
        from ptenv.rl.features import SIZE

        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(SIZE,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(K)
        self._obs = np.zeros(SIZE, dtype=np.float32)
        self._mask = np.ones(K, dtype=np.int8)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs, {"action_mask": self._mask}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._t += 1
        return self._obs, 0.0, self._t >= 4, False, {"action_mask": self._mask}


def pick_valid(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """A uniform valid candidate per row of ``masks``, drawn for the batch at once (as a policy
    acting on a batch does): the valid candidates come first, so one below each row's count."""
    return (rng.random(len(masks)) * masks.sum(axis=1)).astype(np.int64)


def numeric_steps(env: gym.Env[Any, Any], rng: np.random.Generator, info: dict[str, Any], n: int) -> dict[str, Any]:
    """``n`` random valid steps of one numeric env from ``info`` (resetting at each end); the last info."""
    for _ in range(n):
        _, _, term, trunc, info = env.step(int(pick_valid(rng, info["action_mask"][None])[0]))
        if term or trunc:
            _, info = env.reset()
    return info


def async_rate(venv: gym.vector.VectorEnv[Any, Any, Any], n: int, steps: int) -> float:
    """Steps per second of ``venv`` (``n`` envs) over ``steps`` env steps of random valid
    candidates, after a warm-up as long (each worker reads the tasks it meets); closes it."""
    _, info = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps // n):
        _, _, _, _, info = venv.step(pick_valid(rng, info["action_mask"]))
    t = time.perf_counter()
    for _ in range(steps // n):
        _, _, _, _, info = venv.step(pick_valid(rng, info["action_mask"]))
    rate = (steps // n) * n / (time.perf_counter() - t)
    venv.close()
    return rate


def vector_figures(steps: int = 6000, repeats: int = 5) -> dict[str, float]:
    """Steps per second of ``PersonalTool-Numeric-v0``: one env in this process, and
    ``gym.make_vec`` async with one and two worker processes; and the same async pair on
    :class:`BareNumericEnv`, the floor that Gymnasium's pipes and this machine's wake-ups allow.

    Actions are random valid candidates drawn for the whole batch at once (:func:`pick_valid`),
    after a warm-up as long as the run, so each process has read the tasks it meets; the process
    itself is warmed first (the one-env run), and the workers inherit that. Each pool is made,
    timed and closed in turn (one open pool's sleeping workers slowed the next's: timing them
    interleaved, all open, gave 2 envs 0.8x one), ``repeats`` times; the figures are medians, the
    ratios medians of each repetition's."""

    def single() -> float:
        env = gym.make("ptenv/PersonalTool-Numeric-v0", split="test")
        _, info = env.reset(seed=0)
        rng = np.random.default_rng(0)
        info = numeric_steps(env, rng, info, steps)
        t = time.perf_counter()
        numeric_steps(env, rng, info, steps)
        rate = steps / (time.perf_counter() - t)
        env.close()
        return rate

    def vector(n: int) -> float:
        return async_rate(gym.make_vec("ptenv/PersonalTool-Numeric-v0", num_envs=n, vectorization_mode="async", split="test"), n, steps)

    def bare(n: int) -> float:
        return async_rate(gym.vector.AsyncVectorEnv([BareNumericEnv] * n), n, steps)

    rates: dict[str, list[float]] = {k: [] for k in ("single", "async1", "async2", "bare1", "bare2")}
    for _ in range(repeats):
        rates["single"].append(single())
        rates["async1"].append(vector(1))
        rates["async2"].append(vector(2))
        rates["bare1"].append(bare(1))
        rates["bare2"].append(bare(2))
    med = statistics.median

    def ratio(a: str, b: str) -> float:
        return med(x / y for x, y in zip(rates[a], rates[b], strict=True))

    return {
        "single_steps_per_s": med(rates["single"]),
        "async1_steps_per_s": med(rates["async1"]),
        "async2_steps_per_s": med(rates["async2"]),
        "bare1_steps_per_s": med(rates["bare1"]),
        "bare2_steps_per_s": med(rates["bare2"]),
        "async1_vs_single": ratio("async1", "single"),
        "async2_vs_async1": ratio("async2", "async1"),
        "async2_vs_single": ratio("async2", "single"),
        "bare2_vs_bare1": ratio("bare2", "bare1"),
    }
