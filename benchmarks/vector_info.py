"""What the numeric ids' lean ``info`` buys a vector env: ``gym.make_vec`` async with 1 and 2 envs
of ``PersonalTool-Numeric-v0``, its default info against ``full_info=True`` (every key of the
text id), timed in interleaved rounds in one process so the machine's drift falls on both alike:

    python3 benchmarks/vector_info.py [--rounds 6] [--steps 6000]

Prints, per info kind, the median steps/s of 1 and 2 envs and the 2-env/1-env ratio of each round.
The process is warmed first (every task the random picks meet read once), and the workers inherit
that; each pool is made, warmed, timed and closed in turn, as ``ptenv bench --only vector`` does.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import gymnasium as gym
import numpy as np

import ptenv  # noqa: F401  (registers the ids)
from ptenv.evaluation.bench_steps import async_rate, numeric_steps

ENV = "ptenv/PersonalTool-Numeric-v0"


def rate(n: int, steps: int, **kwargs: Any) -> float:
    return async_rate(gym.make_vec(ENV, num_envs=n, vectorization_mode="async", split="test", **kwargs), n, steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6, help="interleaved rounds (default 6)")
    ap.add_argument("--steps", type=int, default=6000, help="env steps timed per pool (default 6000)")
    args = ap.parse_args()
    if args.rounds < 1 or args.steps < 2:
        ap.error("--rounds must be at least 1 and --steps at least 2")
    env = gym.make(ENV, split="test")  # warm the process: the workers inherit what it read
    _, info = env.reset(seed=0)
    numeric_steps(env, np.random.default_rng(0), info, 20_000)
    env.close()
    kinds = {"lean (default)": {}, "full_info=True": {"full_info": True}}
    rows: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for name, kw in kinds.items():
            rows[name].append((rate(1, args.steps, **kw), rate(2, args.steps, **kw)))
    for name, r in rows.items():
        ratios = [b / a for a, b in r]
        print(
            f"{name:15s} 1 env {statistics.median(a for a, _ in r):7.0f} steps/s   2 envs {statistics.median(b for _, b in r):7.0f} steps/s   "
            f"ratio {statistics.median(ratios):.2f} (rounds: {' '.join(f'{x:.2f}' for x in ratios)})"
        )


if __name__ == "__main__":
    main()
