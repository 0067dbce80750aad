"""The numeric observation's fast path (remembered candidate rows, packed bytes) against the rule
written plainly, on seeded random rollouts, and the candidate-action wrapper's plain-int path."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ptenv  # noqa: F401  (registers the ids)
from ptenv.rl import candidates as C
from ptenv.rl.candidates import Candidate, CandidateBuilder
from ptenv.rl.features import SIZE
from ptenv.scenarios.situations import fallback


def plain_features(b: CandidateBuilder, cands: list[Candidate]) -> np.ndarray:
    """docs/rl.md's feature vector, written plainly: request, stage, then each candidate's row."""
    sc = b.scenario
    vals: list[float] = [*b.request_features(), *b.shares("learned")] if sc is not None else [0.0] * 26
    stage = min(b.stage, 2)
    vals += [float(stage == 0), float(stage == 1), float(stage == 2), float(b.last_ok)]
    same, default = b.request_majorities() if sc is not None else (None, None)
    learned, exact = b.majority("learned"), b.majority("exact")
    if sc is not None and b.required:  # a ptenv-v2 employer's rule covers the request: its platform
        same = default = learned = exact = b.required
    if sc is not None:  # under a ptenv-v2 notice: the platforms the published rule gives instead
        same, default, learned, exact = (fallback(sc, p, b.unavailable) if p else None for p in (same, default, learned, exact))
    ids = [p.id for p in sc.platforms[:3]] if sc is not None else [None, None, None]
    for c in cands[: C.K]:
        p = c.platform
        matches = [p is not None and p == x for x in (*ids, b.named, same, default, learned, b.chosen, exact, b.told)]
        vals += [1.0, float(c.kind == "finish"), *(float(m) for m in matches[:3]), float(c.with_profile)]
        vals += [float(m) for m in matches[3:]]
        vals += [float(c.kind == "lookup"), float(c.kind == "ask")]
    vals += [0.0] * (SIZE - len(vals))
    return np.array(vals, dtype=np.float32)


@pytest.mark.parametrize("env_id", ["ptenv/PersonalTool-Numeric-v0", "ptenv/PersonalSession-Numeric-v0"])
@pytest.mark.parametrize("dataset", ["ptenv-v1-mini", "ptenv-v2-mini"])
def test_the_numeric_observation_follows_the_plain_rule(env_id: str, dataset: str) -> None:
    env = gym.make(env_id, dataset=dataset, split="test")
    inner: Any = env.unwrapped
    wrapper = inner._env.env  # CandidateActions
    obs, info = env.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(400):
        want = plain_features(wrapper.builder, wrapper.candidates)
        assert obs.dtype == np.float32 and obs.shape == (SIZE,) and obs.flags.writeable
        assert np.array_equal(obs, want)
        assert info["action_mask"].tolist() == [1] * min(len(wrapper.candidates), C.K) + [0] * (C.K - min(len(wrapper.candidates), C.K))
        n = int(info["action_mask"].sum())
        action = int(rng.integers(n)) if rng.random() < 0.5 else np.int64(rng.integers(n))  # both kinds of index
        obs, _, term, trunc, info = env.step(action)
        if term or trunc:
            obs, info = env.reset()
    with pytest.raises(ValueError, match="action must be an integer"):
        env.step(True)  # a bool is no index, on the fast path or off it
