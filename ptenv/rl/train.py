"""``ptenv train``: train a learning agent on a numeric id and save what it learned.

Writes to ``--out``: the checkpoint (the bandit's ``checkpoint.npz``, or PPO's ``checkpoint.zip`` in
the pickle-free ``ptenv-ppo`` format; evaluate either with ``ptenv eval --agent DIR/checkpoint.*``),
``curve.csv`` (per block of episodes: steps so far, mean reward, platform accuracy and
profile-argument accuracy) and ``curve.png``.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ptenv.rl.wrappers import NumericEnv

#: PPO's checkpoint in ``--out``: a zip in the ``ptenv-ppo`` format (``ptenv.agents.ppo_agent``). The
#: name is the one stable-baselines3 checkpoints had; the loader tells the two apart by content.
PPO_CHECKPOINT = "checkpoint.zip"


def train_bandit(
    env_id: str,
    steps: int,
    out: Path,
    seed: int = 0,
    split: str = "train",
    env_kwargs: dict[str, Any] | None = None,
    block: int = 200,
    progress: bool = True,
) -> list[dict[str, float]]:
    from ptenv.core.agent import load_agent

    out.mkdir(parents=True, exist_ok=True)
    env = gym.make(env_id, split=split, **(env_kwargs or {}))
    numeric = _numeric(env, env_id)
    agent: Any = load_agent("bandit", seed=seed)  # by name: the core never imports an agent
    rows: list[dict[str, float]] = []
    done_steps = episodes = 0
    window: list[tuple[float, float, float]] = []
    t0 = time.perf_counter()
    bar = _bar(steps, "bandit", progress)
    obs, info = env.reset(seed=seed)
    while done_steps < steps:
        trajectory: list[tuple[np.ndarray, np.ndarray, int]] = []
        ret = 0.0
        while True:
            a = agent.sample(obs, info["action_mask"])
            trajectory.append((obs, info["action_mask"], a))
            obs, reward, terminated, truncated, info = env.step(a)
            ret += float(reward)
            done_steps += 1
            for closed in numeric.closed_tasks(info):  # a request closed (an episode, or one of a session)
                terms = closed["reward_terms"]
                window.append((float(terms["total"]), float(terms["platform"]), float(terms["profile_args"])))
                # credit each request with its own return: a session's summed return would blur it
                agent.update(trajectory, ret)
                trajectory, ret = [], 0.0
            if terminated or truncated:
                break
        if trajectory:
            agent.update(trajectory, ret)
        episodes += 1
        if bar is not None:
            bar.update(min(done_steps, steps) - bar.n)
        obs, info = env.reset()
        if len(window) >= block or done_steps >= steps:
            r, p, q = (float(np.mean([w[i] for w in window])) if window else 0.0 for i in range(3))
            rows.append({"steps": done_steps, "episodes": episodes, "reward": r, "platform": p, "profile_args": q})
            window = []
            if bar is not None:
                bar.set_postfix_str(f"reward {r:.3f} platform {p:.3f} profile {q:.3f}")
    if bar is not None:
        bar.close()
    meta = {
        "env": env_id,
        "steps": done_steps,
        "episodes": episodes,
        "seed": seed,
        "split": split,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    agent.save(out / "checkpoint.npz", meta)
    write_curve(rows, out, f"{env_id} (numpy bandit, seed {seed})")
    env.close()
    return rows


def _numeric(env: gym.Env[Any, Any], env_id: str) -> NumericEnv:
    inner = env.unwrapped
    if not isinstance(inner, NumericEnv):
        raise ValueError(
            f"ptenv train trains on a numeric id (ptenv/PersonalTool-Numeric-v0, ptenv/PersonalSession-Numeric-v0), not {env_id}"
        )
    return inner


def _bar(steps: int, what: str, enabled: bool) -> Any:
    """A progress bar over training steps on stderr (tqdm), or None."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=steps, desc=f"training {what}", unit="step", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)


class _Recorder(gym.Wrapper[Any, Any, Any, Any]):
    """Records (global step, reward total, platform, profile args) whenever a request closes, and
    moves the progress bar (PPO's learning loop is SB3's: this wrapper sees every step)."""

    def __init__(self, env: NumericEnv, bar: Any = None):
        super().__init__(env)
        self.numeric = env
        self.bar = bar
        self.steps = 0
        self.closed: list[tuple[int, float, float, float]] = []

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        for closed in self.numeric.closed_tasks(info):
            terms = closed["reward_terms"]
            self.closed.append((self.steps, float(terms["total"]), float(terms["platform"]), float(terms["profile_args"])))
        if self.bar is not None and self.steps <= self.bar.total:
            self.bar.update(1)
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self.numeric.action_masks()


def train_ppo(
    env_id: str,
    steps: int,
    out: Path,
    seed: int = 0,
    split: str = "train",
    env_kwargs: dict[str, Any] | None = None,
    block: int = 200,
    progress: bool = True,
) -> list[dict[str, float]]:
    """MaskablePPO (sb3-contrib, the ``rl`` extra) on a numeric id; saves ``PPO_CHECKPOINT`` and curves.

    The checkpoint is written by the ppo agent in its ``ptenv-ppo`` format (JSON settings and
    ``.npy`` weights in a zip), never with ``model.save``: stable-baselines3's zip unpickles parts
    of the file when loaded, so evaluating a checkpoint someone sent would run their code."""
    from ptenv.core.agent import load_agent

    try:
        from sb3_contrib import MaskablePPO
    except ImportError:
        raise ValueError("--agent ppo needs the rl extra: pip install torch==2.13.0 && pip install -e '.[rl]'") from None
    out.mkdir(parents=True, exist_ok=True)
    env = _Recorder(_numeric(gym.make(env_id, split=split, **(env_kwargs or {})), env_id), _bar(steps, "MaskablePPO", progress))
    t0 = time.perf_counter()
    model = MaskablePPO("MlpPolicy", env, seed=seed, n_steps=512, batch_size=128, verbose=0, device="cpu")
    model.learn(total_timesteps=steps, progress_bar=False)  # SB3's bar needs rich; ours is tqdm's
    if env.bar is not None:
        env.bar.close()
    meta = {
        "env": env_id,
        "trainer": "MaskablePPO",
        "steps": env.steps,
        "seed": seed,
        "split": split,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    agent: Any = load_agent("ppo", model=model)  # by name: rl sits below the agents and never imports one
    agent.save(out / PPO_CHECKPOINT, meta)
    rows = []
    for i in range(0, len(env.closed), block):
        chunk = env.closed[i : i + block]
        rows.append(
            {
                "steps": chunk[-1][0],
                "episodes": i + len(chunk),
                **{k: float(np.mean([c[j] for c in chunk])) for j, k in ((1, "reward"), (2, "platform"), (3, "profile_args"))},
            }
        )
    write_curve(rows, out, f"{env_id} (MaskablePPO, seed {seed})")
    return rows


def write_curve(rows: list[dict[str, float]], out: Path, title: str) -> None:
    """``curve.csv`` and ``curve.png``: reward, platform and profile-argument accuracy against steps."""
    with (out / "curve.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["steps", "episodes", "reward", "platform", "profile_args"])
        w.writeheader()
        w.writerows(rows)
    _plot(rows, out / "curve.png", title)


def _plot(rows: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = [r["steps"] for r in rows]
    for key, label in (("reward", "reward (shaped)"), ("platform", "platform accuracy"), ("profile_args", "profile-argument accuracy")):
        ax.plot(xs, [r[key] for r in rows], marker="o", ms=3, label=label)
    ax.set_xlabel("environment steps")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"Training on {title}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
