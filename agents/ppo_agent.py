"""A MaskablePPO policy (sb3-contrib, optional ``rl`` extra) trained on a numeric id, acting on the
text envs like any agent: it builds the candidates and features from the observation text and
takes the policy's most probable valid candidate. ``ptenv eval --agent DIR/checkpoint.zip``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ptenv.core.observations import parse_observation
from ptenv.rl.candidates import CandidateBuilder, K, action_mask, features


class PPOAgent:
    name = "ppo"

    def __init__(self, model: Any = None, seed: int | None = 0):
        self.model = model
        self._builder = CandidateBuilder()

    @classmethod
    def load(cls, path: str | Path, seed: int | None = 0) -> PPOAgent:
        try:
            from sb3_contrib import MaskablePPO
        except ImportError:
            raise ValueError("PPO checkpoints need the rl extra: pip install torch==2.13.0 && pip install -e '.[rl]'") from None
        if not Path(path).exists():
            raise OSError(f"no such file: {path}")
        return cls(MaskablePPO.load(str(path), device="cpu"), seed)

    def reset(self, seed: int | None = None) -> None:
        self._builder = CandidateBuilder()

    def act(self, observation: str) -> str:
        if self.model is None:
            raise RuntimeError("PPOAgent needs a trained model: load one with PPOAgent.load(path)")
        parse_observation(observation)
        self._builder.observe(observation)
        cands = self._builder.candidates()
        mask = action_mask(cands).astype(bool)
        action, _ = self.model.predict(features(self._builder, cands), action_masks=mask, deterministic=True)
        index = int(np.asarray(action).item())
        return self._builder.choose(index if index < K else 0, cands)
